#pragma once
// BytePipe: a bounded in-memory pipe from one producer thread (an object
// store GET) to one consumer (an HTTP response, a blob copy).
//
//   auto [writer, reader] = BytePipe::Make();       // 1 MiB by default
//   response.stream = std::move(reader);            // the consumer's end
//   std::thread([w = std::move(writer)] { ... w->Write(piece) ... w->Finish(); });
//
// Promises:
//  - bytes arrive in order, each once; memory stays within the capacity
//    plus two chunks (64 KiB each, or the capacity if smaller) of slack;
//  - Write blocks while the pipe is full and returns Unavailable promptly
//    once the reader is gone (PipeReader destroyed or CloseReader()), so a
//    dead HTTP connection always unblocks its producer;
//  - a writer destroyed before Finish() fails the pipe ("producer gone"), so
//    a producer that forgets or throws never leaves its reader waiting;
//  - no busy waiting: blocked sides sleep on condition variables, the
//    non-blocking consumer gets a WhenReady callback.
// Thread-safe: the two ends may live on different threads; each end is used
// by one thread at a time, except Fail, which may come from any thread (to
// abort a Write blocked on a full pipe).
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "base/stream_body.h"

namespace pier {

namespace internal {
class PipeState;
}  // namespace internal

// The consumer's end: the StreamBody interface plus a blocking Read for
// consumers that own a thread. Destroying it closes the reader side.
class PipeReader final : public StreamBody {
 public:
  explicit PipeReader(std::shared_ptr<internal::PipeState> state);
  ~PipeReader() override;
  PipeReader(const PipeReader&) = delete;
  PipeReader& operator=(const PipeReader&) = delete;

  std::span<const char> Peek() override;
  void Consume(size_t n) override;
  bool Failed() const override;
  bool Ended() const override;
  void WhenReady(std::function<void()> ready) override;

  // Blocks until bytes are there, then copies up to out.size() of them.
  // 0 at the end of the body (or when `out` is empty); the producer's
  // failure once it failed.
  Result<size_t> Read(std::span<char> out);
  // Why the producer failed; OK when it did not.
  Status failure() const;
  // Tells the producer to stop (its Write fails from now on) and drops any
  // pending WhenReady callback. Peek and Read return nothing afterwards.
  void CloseReader();

  // Diagnostics (and tests): bytes held, and whether the producer is
  // blocked in Write waiting for room.
  size_t Buffered() const;
  bool WriterWaiting() const;

 private:
  std::shared_ptr<internal::PipeState> state_;
};

struct PipeEnds;

// The producer's end.
class BytePipe {
 public:
  static constexpr size_t kDefaultCapacity = 1 << 20;
  // A pipe holding at most `capacity` bytes (at least 1).
  static PipeEnds Make(size_t capacity = kDefaultCapacity);

  explicit BytePipe(std::shared_ptr<internal::PipeState> state);
  // Without Finish() or Fail() first: fails the pipe ("producer gone").
  ~BytePipe();
  BytePipe(const BytePipe&) = delete;
  BytePipe& operator=(const BytePipe&) = delete;

  // Appends all of `data`, blocking while the pipe is full. Unavailable
  // ("reader gone") once the reader is gone, FailedPrecondition after
  // Finish or Fail; part of `data` may have gone in before such an error.
  Status Write(std::span<const char> data);
  // The body is complete: the reader ends once it consumed what is there.
  void Finish();
  // The body is incomplete: the reader sees Failed() (and Read returns
  // `why`) at once, even with bytes still held. Ignored after Finish.
  void Fail(Status why);
  void Fail(std::string why) { Fail(Status::Unavailable(std::move(why))); }
  // The reader is gone: nothing more is wanted (cheap; for long producers
  // that want to stop between pieces).
  bool ReaderGone() const;

 private:
  std::shared_ptr<internal::PipeState> state_;
};

struct PipeEnds {
  std::unique_ptr<BytePipe> writer;
  std::unique_ptr<PipeReader> reader;
};

}  // namespace pier
