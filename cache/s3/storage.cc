#include "cache/s3/storage.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/log.h"

namespace pier::s3 {
namespace {

constexpr int kAttempts = 3;

bool Transient(const Status& s, const client::Call& call) {
  return s.code() == Code::kUnavailable && call.error.kind != client::ErrorKind::kCancelled;
}

// "<start>-<length>" of a tail object's name, or nullopt.
std::string TailName(uint64_t start, uint64_t length) {
  return "tail-" + std::to_string(start) + "-" + std::to_string(length);
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A reader over one blob object: ranged GETs of `window` bytes, so a
// sequential reader (a replication push, a transcode) makes one request per
// window and memory stays at one window.
class S3Reader final : public BlobReader {
 public:
  S3Reader(std::shared_ptr<S3BlobStorage> storage, std::string key, uint64_t size, uint64_t window)
      : storage_(std::move(storage)), key_(std::move(key)), size_(size), window_(window) {}
  uint64_t size() const override { return size_; }
  int fd() const override { return -1; }
  Result<UniqueFd> TakeFd() override { return Status::Unsupported("blob bytes are in S3: no file descriptor"); }

  Result<size_t> ReadAt(uint64_t offset, std::span<char> data) override {
    if (offset >= size_ || data.empty()) return size_t{0};
    size_t done = 0;
    while (done < data.size() && offset + done < size_) {
      const uint64_t at = offset + done;
      if (at < buf_start_ || at >= buf_start_ + buf_.size()) {
        if (Status s = Fill(at, data.size() - done); !s.ok()) return s;
      }
      const uint64_t in_buf = at - buf_start_;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buf_.size() - in_buf, data.size() - done));
      std::copy_n(buf_.data() + in_buf, n, data.data() + done);
      done += n;
    }
    return done;
  }

 private:
  Status Fill(uint64_t at, size_t want) {
    const uint64_t length = std::min<uint64_t>(size_ - at, std::max<uint64_t>(window_, want));
    buf_.clear();
    buf_start_ = at;
    buf_.reserve(static_cast<size_t>(length));
    client::BodySink sink = [this](const client::HttpResponse&, std::span<const char> bytes) {
      buf_.append(bytes.data(), bytes.size());
      return Status::OK();
    };
    for (int attempt = 1;; ++attempt) {
      buf_.clear();
      client::Call call;
      auto info = storage_->client().Get(key_, at, length, sink, call);
      if (info.ok()) break;
      if (attempt >= kAttempts || !Transient(info.status(), call)) return info.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt * attempt));
    }
    if (buf_.size() != length) {
      return Status::Corruption("S3 object " + key_ + " gave " + std::to_string(buf_.size()) + " bytes at " +
                                std::to_string(at) + ", not " + std::to_string(length));
    }
    return Status::OK();
  }

  std::shared_ptr<S3BlobStorage> storage_;
  std::string key_;
  uint64_t size_;
  uint64_t window_;
  uint64_t buf_start_ = 0;
  std::string buf_;
};

}  // namespace

Result<std::unique_ptr<S3BlobStorage>> S3BlobStorage::Create(const StorageOptions& options) {
  if (!options.prefix.empty()) {
    if (options.prefix.back() != '/') return Status::InvalidArgument("storage.s3.prefix: must end with '/'");
    if (Status s = ValidatePrefix(options.prefix); !s.ok()) {
      return Status::InvalidArgument("storage.s3.prefix: " + s.message());
    }
  }
  if (options.part_size < (1u << 20) || options.part_size > (1ull << 30)) {
    return Status::InvalidArgument("S3 part size must be between 1 MiB and 1 GiB");
  }
  auto client = Client::Create(options.client);
  if (!client.ok()) return client.status();
  return std::unique_ptr<S3BlobStorage>(new S3BlobStorage(options, std::move(*client)));
}

Status S3BlobStorage::Retry(const std::function<Status(client::Call&)>& op) {
  for (int attempt = 1;; ++attempt) {
    client::Call call;
    Status s = op(call);
    if (s.ok() || attempt >= kAttempts || !Transient(s, call)) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt * attempt));
  }
}

Status S3BlobStorage::CheckBucket() {
  if (Status s = Retry([&](client::Call& c) { return client_->CreateBucket(c); }); !s.ok()) return s;
  return Retry([&](client::Call& c) { return client_->List(options_.prefix, "", 1, c).status(); });
}

Status S3BlobStorage::Ping() {
  client::Call c;
  return client_->List(options_.prefix, "", 1, c).status();
}

std::string S3BlobStorage::BlobKey(const Digest& d) const {
  return options_.prefix + "blobs/sha256/" + d.hex.substr(0, 2) + "/" + d.hex;
}

std::string S3BlobStorage::UploadPrefix(std::string_view uuid) const {
  return options_.prefix + "uploads/" + std::string(uuid) + "/";
}

Result<std::unique_ptr<BlobReader>> S3BlobStorage::Open(const Digest& d) {
  auto stat = Stat(d);
  if (!stat.ok()) return stat.status();
  if (!stat->has_value()) return Status::NotFound("blob " + d.str() + " is not in the bucket");
  std::shared_ptr<S3BlobStorage> self(shared_from_this(), this);
  return std::unique_ptr<BlobReader>(
      std::make_unique<S3Reader>(std::move(self), BlobKey(d), (*stat)->size, options_.read_window));
}

Result<std::optional<StoredObject>> S3BlobStorage::Stat(const Digest& d) {
  std::optional<StoredObject> out;
  Status s = Retry([&](client::Call& c) {
    auto info = client_->Head(BlobKey(d), c);
    if (info.ok()) out = StoredObject{d.hex, info->size, info->last_modified_unix};
    return info.status().code() == Code::kNotFound ? Status::OK() : info.status();
  });
  if (!s.ok()) return s;
  return out;
}

Status S3BlobStorage::Remove(const Digest& d) {
  return Retry([&](client::Call& c) { return client_->Delete(BlobKey(d), c); });
}

Status S3BlobStorage::ListAll(const std::string& prefix, const std::function<bool(const ObjectInfo&)>& fn) {
  std::string token;
  do {
    Result<ListPage> page = Status::Internal("unlisted");
    Status s = Retry([&](client::Call& c) {
      page = client_->List(prefix, token, 1000, c);
      return page.status();
    });
    if (!s.ok()) return s;
    for (const ObjectInfo& o : page->objects) {
      if (!fn(o)) return Status::OK();
    }
    token = page->next_token;
  } while (!token.empty());
  return Status::OK();
}

Status S3BlobStorage::ListBlobs(const std::function<bool(const StoredObject&)>& fn) {
  const std::string prefix = options_.prefix + "blobs/sha256/";
  return ListAll(prefix, [&](const ObjectInfo& o) {
    // "<2 hex>/<64 hex>" and nothing else: anything else is not the store's.
    std::string_view rest = std::string_view(o.key).substr(prefix.size());
    if (rest.size() != 67 || rest[2] != '/' || !IsHex64(rest.substr(3)) || rest.substr(0, 2) != rest.substr(3, 2))
      return true;
    return fn(StoredObject{std::string(rest.substr(3)), o.size, o.last_modified_unix});
  });
}

Status S3BlobStorage::Promote(std::string_view uuid, const Digest& d) {
  const std::string from = UploadPrefix(uuid) + "data";
  std::optional<uint64_t> size;
  Status s = Retry([&](client::Call& c) {
    auto info = client_->Head(from, c);
    if (info.ok()) size = info->size;
    return info.status();
  });
  if (!s.ok()) return s;
  if (*size > kMaxCopyBytes) return CopyLarge(from, BlobKey(d), *size);
  return Retry([&](client::Call& c) { return client_->Copy(from, BlobKey(d), c); });
}

// CopyObject stops at 5 GiB: larger blobs are copied part by part.
Status S3BlobStorage::CopyLarge(const std::string& from, const std::string& to, uint64_t size) {
  constexpr uint64_t kCopyPart = 1ull << 30;
  std::string id;
  Status s = Retry([&](client::Call& c) {
    auto r = client_->CreateMultipart(to, c);
    if (r.ok()) id = *r;
    return r.status();
  });
  if (!s.ok()) return s;
  std::vector<Part> parts;
  for (uint64_t off = 0; off < size; off += kCopyPart) {
    const int number = static_cast<int>(off / kCopyPart) + 1;
    std::string etag;
    s = Retry([&](client::Call& c) {
      auto r = client_->UploadPartCopy(to, id, number, from, off, std::min(kCopyPart, size - off), c);
      if (r.ok()) etag = *r;
      return r.status();
    });
    if (!s.ok()) break;
    parts.push_back(Part{number, etag});
  }
  if (s.ok()) s = Retry([&](client::Call& c) { return client_->CompleteMultipart(to, id, parts, c); });
  if (!s.ok()) {
    client::Call c;
    (void)client_->AbortMultipart(to, id, c);
  }
  return s;
}

Status S3BlobStorage::Unpromote(const Digest& d, std::string_view uuid) {
  // The session's data object still holds the bytes: dropping the copy is
  // enough for a retried commit to promote them again.
  (void)uuid;
  return Remove(d);
}

Status S3BlobStorage::RemoveUpload(std::string_view uuid) {
  const std::string prefix = UploadPrefix(uuid);
  std::vector<std::string> keys;
  std::vector<std::string> multiparts;
  Status s = ListAll(prefix, [&](const ObjectInfo& o) {
    keys.push_back(o.key);
    std::string_view name = std::string_view(o.key).substr(prefix.size());
    if (name.starts_with("multipart-")) multiparts.emplace_back(name.substr(10));
    return true;
  });
  if (!s.ok()) return s;
  // Abort first: the marker goes last, so a crash in between leaves it to
  // find again.
  for (const std::string& id : multiparts) {
    s = Retry([&](client::Call& c) { return client_->AbortMultipart(prefix + "data", id, c); });
    if (!s.ok()) return s;
  }
  if (keys.empty()) return Status::OK();
  return Retry([&](client::Call& c) { return client_->DeleteMany(keys, c); });
}

Result<std::optional<StoredObject>> S3BlobStorage::StatUpload(std::string_view uuid) {
  std::optional<StoredObject> out;
  Status s = ListAll(UploadPrefix(uuid), [&](const ObjectInfo& o) {
    if (!out) out = StoredObject{std::string(uuid), 0, 0};
    out->size += o.size;
    out->mtime_unix = std::max(out->mtime_unix, o.last_modified_unix);
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

Status S3BlobStorage::ListUploads(const std::function<bool(const StoredObject&)>& fn) {
  const std::string prefix = options_.prefix + "uploads/";
  std::optional<StoredObject> current;
  bool go_on = true;
  Status s = ListAll(prefix, [&](const ObjectInfo& o) {
    std::string_view rest = std::string_view(o.key).substr(prefix.size());
    const size_t slash = rest.find('/');
    std::string uuid(rest.substr(0, slash));
    // Keys come sorted, so one session's objects are consecutive.
    if (current && current->name != uuid) {
      go_on = fn(*current);
      current.reset();
      if (!go_on) return false;
    }
    if (!current) current = StoredObject{uuid, 0, 0};
    current->size += o.size;
    current->mtime_unix = std::max(current->mtime_unix, o.last_modified_unix);
    return true;
  });
  if (!s.ok()) return s;
  if (current && go_on) fn(*current);
  return Status::OK();
}

std::optional<std::string> S3BlobStorage::RedirectUrl(const Digest& d, int ttl_seconds) const {
  if (!options_.redirect) return std::nullopt;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string url = client_->PresignGet(BlobKey(d), ttl_seconds, now);
  if (url.empty()) return std::nullopt;
  return url;
}

Result<std::string> S3BlobStorage::BeginParts(std::string_view uuid) {
  const std::string data = UploadPrefix(uuid) + "data";
  std::string id;
  Status s = Retry([&](client::Call& c) {
    auto r = client_->CreateMultipart(data, c);
    if (r.ok()) id = *r;
    return r.status();
  });
  if (!s.ok()) return s;
  // The marker lets RemoveUpload (and GC) abort the upload from the uuid alone.
  const std::string marker = UploadPrefix(uuid) + "multipart-" + id;
  if (Status v = ValidateKey(marker); !v.ok()) {
    client::Call c;
    (void)client_->AbortMultipart(data, id, c);
    return Status::Internal("S3 returned an upload id unfit for a key name");
  }
  s = Retry([&](client::Call& c) { return client_->Put(marker, "", c); });
  if (!s.ok()) {
    client::Call c;
    (void)client_->AbortMultipart(data, id, c);
    return s;
  }
  return id;
}

Result<std::string> S3BlobStorage::PutPart(std::string_view uuid, std::string_view upload_id, int number,
                                           std::string_view bytes) {
  std::string etag;
  Status s = Retry([&](client::Call& c) {
    auto r = client_->UploadPart(UploadPrefix(uuid) + "data", upload_id, number, bytes, c);
    if (r.ok()) etag = *r;
    return r.status();
  });
  if (!s.ok()) return s;
  return etag;
}

Status S3BlobStorage::PutTail(std::string_view uuid, uint64_t start, std::string_view bytes) {
  return Retry([&](client::Call& c) {
    return client_->Put(UploadPrefix(uuid) + TailName(start, bytes.size()), bytes, c);
  });
}

Result<std::string> S3BlobStorage::GetTail(std::string_view uuid, uint64_t start, uint64_t length) {
  std::string out;
  Status s = Retry([&](client::Call& c) {
    auto r = client_->GetSmall(UploadPrefix(uuid) + TailName(start, length), static_cast<size_t>(length), c);
    if (r.ok()) out = std::move(*r);
    return r.status();
  });
  if (!s.ok()) return s;
  if (out.size() != length) return Status::Corruption("upload tail object has the wrong size");
  return out;
}

Status S3BlobStorage::DeleteTail(std::string_view uuid, uint64_t start, uint64_t length) {
  return Retry([&](client::Call& c) { return client_->Delete(UploadPrefix(uuid) + TailName(start, length), c); });
}

Status S3BlobStorage::Assemble(std::string_view uuid, std::string_view upload_id,
                               const std::vector<UploadPart>& parts, std::string_view last) {
  const std::string data = UploadPrefix(uuid) + "data";
  if (parts.empty()) return Retry([&](client::Call& c) { return client_->Put(data, last, c); });
  std::vector<Part> all;
  for (const UploadPart& p : parts) all.push_back(Part{p.number, p.etag});
  if (!last.empty()) {
    auto etag = PutPart(uuid, upload_id, parts.back().number + 1, last);
    if (!etag.ok()) return etag.status();
    all.push_back(Part{parts.back().number + 1, *etag});
  }
  return Retry([&](client::Call& c) { return client_->CompleteMultipart(data, upload_id, all, c); });
}

}  // namespace pier::s3
