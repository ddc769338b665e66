// BytePipe's shared state: a queue of fixed-size chunks under one mutex.
// The producer copies into the tail chunk, the consumer reads the head chunk
// in place (Peek hands out a span into it), so each byte is copied once, by
// the producer. Chunk memory never moves, so the span Peek returned stays
// valid while the producer appends behind it; only Consume and CloseReader
// free chunks, and both are the consumer's own calls.
#include "base/byte_pipe.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace pier {
namespace internal {

namespace {
constexpr size_t kChunkSize = 64 * 1024;
}  // namespace

class PipeState {
 public:
  explicit PipeState(size_t capacity)
      : capacity_(std::max<size_t>(capacity, 1)), chunk_size_(std::min(capacity_, kChunkSize)) {}

  // ---- producer -------------------------------------------------------------

  Status Write(std::span<const char> data) {
    if (data.empty()) {
      std::lock_guard lock(mu_);
      return WritableLocked();
    }
    do {
      std::vector<std::function<void()>> ready;
      {
        std::unique_lock lock(mu_);
        if (!reader_gone_ && !done_ && buffered_ >= capacity_) {
          writer_waiting_ = true;
          space_.wait(lock, [&] { return reader_gone_ || done_ || buffered_ < capacity_; });
          writer_waiting_ = false;
        }
        if (Status s = WritableLocked(); !s.ok()) return s;
        // One chunk's worth per turn keeps the copy under the lock short.
        data = data.subspan(AppendLocked(data));
        if (waiters_.empty() && !reader_blocked_) continue;
        ready.swap(waiters_);
      }
      data_.notify_one();
      for (auto& r : ready) r();
    } while (!data.empty());
    return Status::OK();
  }

  void End(Status failure) {
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      done_ = true;
      failure_ = std::move(failure);
      ready.swap(waiters_);
    }
    data_.notify_all();
    space_.notify_all();  // a Write blocked on another thread returns
    for (auto& r : ready) r();
  }

  bool ReaderGone() const {
    std::lock_guard lock(mu_);
    return reader_gone_;
  }

  // ---- consumer -------------------------------------------------------------

  std::span<const char> Peek() const {
    std::lock_guard lock(mu_);
    return PeekLocked();
  }

  void Consume(size_t n) {
    {
      std::lock_guard lock(mu_);
      ConsumeLocked(n);
    }
    space_.notify_one();
  }

  bool Failed() const {
    std::lock_guard lock(mu_);
    return FailedLocked();
  }

  bool Ended() const {
    std::lock_guard lock(mu_);
    return EndedLocked();
  }

  void WhenReady(std::function<void()> ready) {
    {
      std::lock_guard lock(mu_);
      if (!ReadyLocked() && !reader_gone_) {
        waiters_.push_back(std::move(ready));
        return;
      }
    }
    ready();
  }

  Result<size_t> Read(std::span<char> out) {
    if (out.empty()) return size_t{0};
    size_t copied = 0;
    {
      std::unique_lock lock(mu_);
      reader_blocked_ = true;
      data_.wait(lock, [&] { return ReadyLocked() || reader_gone_; });
      reader_blocked_ = false;
      if (reader_gone_) return Status::FailedPrecondition("read from a closed stream");
      if (FailedLocked()) return failure_;
      while (copied < out.size()) {
        auto piece = PeekLocked();
        if (piece.empty()) break;
        const size_t n = std::min(piece.size(), out.size() - copied);
        std::memcpy(out.data() + copied, piece.data(), n);
        copied += n;
        ConsumeLocked(n);
      }
    }
    space_.notify_one();
    return copied;
  }

  Status failure() const {
    std::lock_guard lock(mu_);
    return FailedLocked() ? failure_ : Status::OK();
  }

  void CloseReader() {
    std::vector<std::function<void()>> dropped;
    std::deque<Chunk> freed;
    {
      std::lock_guard lock(mu_);
      reader_gone_ = true;
      dropped.swap(waiters_);
      freed.swap(chunks_);
      spare_.reset();
      buffered_ = 0;
    }
    space_.notify_all();
    // `dropped` dies here, outside the lock: its captures may own a lot.
  }

  size_t Buffered() const {
    std::lock_guard lock(mu_);
    return buffered_;
  }

  bool WriterWaiting() const {
    std::lock_guard lock(mu_);
    return writer_waiting_;
  }

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t begin = 0;  // first unread byte
    size_t end = 0;    // one past the last written byte
  };

  Status WritableLocked() const {
    if (reader_gone_) return Status::Unavailable("stream reader gone");
    if (done_) return Status::FailedPrecondition("write to a stream that already ended");
    return Status::OK();
  }

  bool FailedLocked() const { return done_ && !failure_.ok(); }
  bool EndedLocked() const { return done_ && failure_.ok() && buffered_ == 0; }
  bool ReadyLocked() const { return buffered_ > 0 || done_; }

  std::span<const char> PeekLocked() const {
    if (FailedLocked() || chunks_.empty()) return {};
    const Chunk& head = chunks_.front();
    return {head.data.get() + head.begin, head.end - head.begin};
  }

  // Copies what fits in the tail chunk (or a new one); returns the count.
  size_t AppendLocked(std::span<const char> data) {
    if (chunks_.empty() || chunks_.back().end == chunk_size_) {
      Chunk c;
      c.data = spare_ ? std::move(spare_) : std::make_unique_for_overwrite<char[]>(chunk_size_);
      chunks_.push_back(std::move(c));
    }
    Chunk& tail = chunks_.back();
    const size_t n = std::min({data.size(), chunk_size_ - tail.end, capacity_ - buffered_});
    std::memcpy(tail.data.get() + tail.end, data.data(), n);
    tail.end += n;
    buffered_ += n;
    return n;
  }

  void ConsumeLocked(size_t n) {
    if (chunks_.empty()) return;
    Chunk& head = chunks_.front();
    n = std::min(n, head.end - head.begin);  // a caller's slip must not corrupt the count
    head.begin += n;
    buffered_ -= n;
    if (head.begin < head.end) return;
    if (chunks_.size() == 1) {
      head.begin = head.end = 0;  // the producer refills it from the start
      return;
    }
    if (!spare_) spare_ = std::move(head.data);
    chunks_.pop_front();
  }

  const size_t capacity_;
  const size_t chunk_size_;

  mutable std::mutex mu_;
  std::condition_variable space_;  // the producer waits for room
  std::condition_variable data_;   // Read waits for bytes or the end
  std::deque<Chunk> chunks_;
  std::unique_ptr<char[]> spare_;  // one freed chunk kept to avoid malloc churn
  size_t buffered_ = 0;
  bool done_ = false;              // Finish or Fail was called
  Status failure_;                 // not OK: Fail was called
  bool reader_gone_ = false;
  bool writer_waiting_ = false;
  bool reader_blocked_ = false;    // Read is waiting on data_
  std::vector<std::function<void()>> waiters_;
};

}  // namespace internal

// ---- PipeReader ---------------------------------------------------------------

PipeReader::PipeReader(std::shared_ptr<internal::PipeState> state) : state_(std::move(state)) {}
PipeReader::~PipeReader() { state_->CloseReader(); }
std::span<const char> PipeReader::Peek() { return state_->Peek(); }
void PipeReader::Consume(size_t n) { state_->Consume(n); }
bool PipeReader::Failed() const { return state_->Failed(); }
bool PipeReader::Ended() const { return state_->Ended(); }
void PipeReader::WhenReady(std::function<void()> ready) { state_->WhenReady(std::move(ready)); }
Result<size_t> PipeReader::Read(std::span<char> out) { return state_->Read(out); }
Status PipeReader::failure() const { return state_->failure(); }
void PipeReader::CloseReader() { state_->CloseReader(); }
size_t PipeReader::Buffered() const { return state_->Buffered(); }
bool PipeReader::WriterWaiting() const { return state_->WriterWaiting(); }

// ---- BytePipe -----------------------------------------------------------------

PipeEnds BytePipe::Make(size_t capacity) {
  auto state = std::make_shared<internal::PipeState>(capacity);
  return {std::make_unique<BytePipe>(state), std::make_unique<PipeReader>(state)};
}

BytePipe::BytePipe(std::shared_ptr<internal::PipeState> state) : state_(std::move(state)) {}
BytePipe::~BytePipe() { state_->End(Status::Unavailable("stream producer gone before the end")); }
Status BytePipe::Write(std::span<const char> data) { return state_->Write(data); }
void BytePipe::Finish() { state_->End(Status::OK()); }
void BytePipe::Fail(Status why) {
  if (why.ok()) why = Status::Internal("stream failed");
  state_->End(std::move(why));
}
bool BytePipe::ReaderGone() const { return state_->ReaderGone(); }

}  // namespace pier
