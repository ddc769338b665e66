#include "cache/transcode/transcoder.h"

#include <nlohmann/json.hpp>

#include "base/internal_errors.h"

namespace pier::transcode {
namespace {

// The store's column family for the mapping (source digest → JSON record).
constexpr std::string_view kSpace = "transcodes";

std::string Encode(const Transcoded& t) {
  return nlohmann::json{{"source_size", t.source_size}, {"digest", t.digest.str()},  {"size", t.size},
                        {"diff_id", t.diff_id.str()},   {"tar_size", t.tar_size},    {"level", t.level},
                        {"created", t.created_unix}}
      .dump();
}

Result<Transcoded> Decode(const Digest& source, std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto bad = [&] { return Status::Corruption("transcode record of " + source.str() + " is malformed"); };
  if (!j.is_object()) return bad();
  Transcoded t;
  t.source = source;
  try {
    t.source_size = j.at("source_size").get<uint64_t>();
    auto d = Digest::Parse(j.at("digest").get<std::string>());
    auto diff = Digest::Parse(j.at("diff_id").get<std::string>());
    if (!d.ok() || !diff.ok()) return bad();
    t.digest = *d;
    t.diff_id = *diff;
    t.size = j.at("size").get<uint64_t>();
    t.tar_size = j.at("tar_size").get<uint64_t>();
    t.level = j.at("level").get<int>();
    t.created_unix = j.at("created").get<int64_t>();
  } catch (const nlohmann::json::exception&) {
    return bad();
  }
  return t;
}

}  // namespace

Result<GrowingCopy::Seen> GrowingCopy::Wait(uint64_t offset, std::stop_token stop) {
  std::unique_lock lock(mu_);
  if (!cv_.wait(lock, stop, [&] { return ended_ || readable_ > offset; })) return Status::Unavailable("stopped");
  return Seen{readable_, ended_};
}

Result<GrowingCopy::Seen> GrowingCopy::WaitUntil(uint64_t offset, std::stop_token stop,
                                                  std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, stop, until, [&] { return ended_ || readable_ > offset; });
  if (stop.stop_requested()) return Status::Unavailable("stopped");
  return Seen{readable_, ended_};
}

int GrowingCopy::fd() const { return raw_fd_.load(std::memory_order_acquire); }

Result<Transcoded> GrowingCopy::result() const {
  std::lock_guard lock(mu_);
  if (!ended_) return Status::FailedPrecondition("the transcode of " + source_.str() + " is still running");
  return result_;
}

void GrowingCopy::Open(UniqueFd fd) {
  std::lock_guard lock(mu_);
  fd_ = std::move(fd);
  raw_fd_.store(fd_.get(), std::memory_order_release);
}

void GrowingCopy::Grew(uint64_t readable) {
  {
    std::lock_guard lock(mu_);
    if (fd_.get() < 0) return;  // no reader descriptor: followers see the end only
    readable_ = readable;
  }
  cv_.notify_all();
}

void GrowingCopy::End(Result<Transcoded> r) {
  {
    std::lock_guard lock(mu_);
    // A copy that ended well is all readable (its size); a failed one keeps
    // what was published (followers drop it). Without a reader descriptor
    // followers cannot read the copy: they are told so (the copy itself is
    // fine, and stored).
    if (r.ok() && fd_.get() < 0) r = Status::Unavailable("the transcode of " + source_.str() + " could not be followed");
    if (r.ok()) readable_ = r->size;
    result_ = std::move(r);
    ended_ = true;
  }
  cv_.notify_all();
}

Transcoder::Lease& Transcoder::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    Reset();
    t_ = std::move(o.t_);
    key_ = std::move(o.key_);
  }
  return *this;
}

void Transcoder::Lease::Reset() {
  if (!t_) return;
  {
    std::lock_guard lock(t_->mu_);
    auto it = t_->held_.find(key_);
    if (it != t_->held_.end() && --it->second == 0) t_->held_.erase(it);
  }
  t_.reset();
}

Transcoder::Transcoder(std::shared_ptr<Store> store, std::shared_ptr<KvSpace> space, Options options)
    : store_(std::move(store)), space_(std::move(space)), options_(options) {}

Result<std::shared_ptr<Transcoder>> Transcoder::Open(std::shared_ptr<Store> store, Options options) {
  auto space = store->OpenKeySpace(kSpace);
  if (!space.ok()) return space.status();
  return std::make_shared<Transcoder>(std::move(store), std::move(space).value(), options);
}

Result<Transcoded> Transcoder::Lookup(const Digest& source) {
  auto v = space_->Get(source.str());
  if (!v.ok()) return v.status();
  return Decode(source, *v);
}

Status Transcoder::Record(const Transcoded& t) { return space_->Write({{t.source.str(), Encode(t)}}); }

Transcoder::Lease Transcoder::Hold(const Digest& d) {
  std::lock_guard lock(mu_);
  ++held_[d.str()];
  return Lease(shared_from_this(), d.str());
}

bool Transcoder::Held(const Digest& d) const {
  std::lock_guard lock(mu_);
  return held_.contains(d.str());
}

std::optional<double> Transcoder::OutputRate(int level) const {
  std::lock_guard lock(mu_);
  auto it = by_level_.find(level);
  if (it == by_level_.end() || it->second.first < (8u << 20) || it->second.second <= 0) return std::nullopt;
  return static_cast<double>(it->second.first) / it->second.second;
}

void Transcoder::NoteQueued(int64_t delta) {
  std::lock_guard lock(mu_);
  stats_.queued += delta;
}

TranscoderStats Transcoder::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Result<Transcoded> Transcoder::Ensure(std::string_view repo, const Digest& source, int level, std::stop_token stop) {
  // Linked by `repo`: the caller may read this source (and it exists).
  if (auto st = store_->StatBlob(repo, source); !st.ok()) return st.status();
  if (auto known = Lookup(source); known.ok() && store_->BlobStored(known->digest)) {
    std::lock_guard lock(mu_);
    ++stats_.reused;
    return known;
  } else if (!known.ok() && known.status().code() != Code::kNotFound) {
    return known.status();
  }
  std::shared_ptr<Flight> flight;
  bool mine = false;
  {
    std::unique_lock lock(mu_);
    auto& slot = flights_[source.str()];
    if (!slot) {
      slot = std::make_shared<Flight>();
      slot->growing = std::make_shared<GrowingCopy>(source, level);
      mine = true;
    }
    flight = slot;
    if (!mine) {
      ++stats_.waiting;
      cv_.wait(lock, [&] { return flight->done || stop.stop_requested(); });
      --stats_.waiting;
      if (!flight->done) return Status::Unavailable("stopped");
      if (flight->result.ok()) ++stats_.reused;
      return flight->result;
    }
    ++stats_.active;
  }
  auto started = options_.clock->Steady();
  Result<Transcoded> r = Make(repo, source, level, stop, *flight->growing);
  std::chrono::duration<double> took = options_.clock->Steady() - started;
  {
    std::lock_guard lock(mu_);
    --stats_.active;
    stats_.busy_seconds += took.count();
    if (r.ok()) {
      auto& l = by_level_[r->level];
      l.first += r->size;
      l.second += took.count();
      ++stats_.transcodes;
      stats_.gzip_bytes += r->source_size;
      stats_.zstd_bytes += r->size;
    } else {
      ++stats_.failures;
    }
    flight->result = r;
    flight->done = true;
    flights_.erase(source.str());
  }
  cv_.notify_all();
  flight->growing->End(r);
  return r;
}

Result<std::shared_ptr<GrowingCopy>> Transcoder::Follow(const Digest& source) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(source.str());
  if (it == flights_.end()) return Status::NotFound("no transcode of " + source.str() + " is running");
  return it->second->growing;
}

Result<Transcoded> Transcoder::Make(std::string_view repo, const Digest& source, int level, std::stop_token stop,
                                    GrowingCopy& growing) {
  BlobInfo info;
  // Through the storage's reader: a local file or ranged reads of an S3
  // object, both in order from byte 0.
  auto src = store_->OpenBlobReader(repo, source, &info);
  if (!src.ok()) return src.status();
  BlobReader& reader = **src;
  auto up = store_->StartUpload(repo);
  if (!up.ok()) return up.status();
  auto cancel = [&] {
    if (Status s = store_->CancelUpload(repo, up->uuid); !s.ok() && s.code() != Code::kNotFound)
      ReportInternalError("transcode", "dropping an unfinished transcode's upload failed", s);
  };
  auto w = store_->OpenWriter(repo, up->uuid, std::nullopt);
  if (!w.ok()) {
    cancel();
    return w.status();
  }
  UploadWriter& writer = **w;
  writer.MarkDerived();
  // Followers read the file while it grows: every append goes to it at
  // once (no O_DIRECT appender holding bytes back).
  writer.KeepBuffered();
  if (auto rd = writer.OpenReader(); rd.ok()) {
    growing.Open(std::move(*rd));
  } else {
    // Nobody can follow this one (they wait for its end): not a reason to fail it.
    ReportInternalError("transcode", "opening a reader of a transcode's upload failed", rd.status());
  }
  if (options_.on_output) options_.on_output(source, 0);
  ZstdParams params;
  params.level = level;
  params.workers = options_.workers;
  auto sink = [&](std::span<const char> b) -> Status {
    PIER_TRY(writer.Append(b));
    growing.Grew(writer.size());
    if (options_.on_output) options_.on_output(source, writer.size());
    return Status::OK();
  };
  auto res = GzipToZstd([&](uint64_t offset, std::span<char> data) { return reader.ReadAt(offset, data); }, params,
                        sink, stop);
  if (!res.ok()) {
    writer.Abort();
    w->reset();
    cancel();
    return Status(res.status().code(), "transcoding " + source.str() + ": " + res.status().message());
  }
  auto committed = writer.Commit(res->digest);
  w->reset();
  if (!committed.ok()) {
    cancel();
    return committed.status();
  }
  Transcoded t;
  t.source = source;
  t.source_size = res->gzip_size;
  t.digest = res->digest;
  t.size = res->size;
  t.diff_id = res->diff_id;
  t.tar_size = res->tar_size;
  t.level = level;
  t.created_unix = options_.clock->UnixSeconds();
  if (Status s = Record(t); !s.ok()) return s;
  return t;
}

}  // namespace pier::transcode
