#pragma once
// StreamBody: a body produced piece by piece by someone else (an object
// store GET on another thread) and handed to one consumer (the HTTP server
// writing a response, or an internal reader copying a blob).
//
// Consumers never block: they Peek what is there, Consume what they sent,
// and ask WhenReady to be told when more arrives. The producer side is the
// implementation's business (BytePipe, base/byte_pipe.h, is the standard one).
//
// Promises: bytes come in order, each once; once Failed() is true it stays
// true and the bytes so far are not the whole body. Destroying the StreamBody
// tells the producer to stop and drops a pending `ready` without running it,
// so a consumer that goes away never keeps its callback's captures alive.
#include <cstddef>
#include <functional>
#include <span>

namespace pier {

class StreamBody {
 public:
  virtual ~StreamBody() = default;
  // Bytes ready now at the current position; empty when none yet, at the
  // end, or failed. Valid until the next Consume() or the destruction.
  virtual std::span<const char> Peek() = 0;
  // Moves past `n` bytes of what Peek() returned (n <= Peek().size()).
  virtual void Consume(size_t n) = 0;
  // The producer gave up: the bytes so far are not the whole body.
  virtual bool Failed() const = 0;
  // The producer finished and everything was consumed.
  virtual bool Ended() const = 0;
  // Calls `ready` exactly once, from any thread, when Peek() is non-empty,
  // Failed() or Ended() — at once, on the calling thread, when that already
  // holds. `ready` must be cheap (post work elsewhere) and must not call back
  // into this StreamBody.
  virtual void WhenReady(std::function<void()> ready) = 0;
};

}  // namespace pier
