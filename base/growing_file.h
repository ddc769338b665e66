#pragma once
// GrowingFile: a file whose bytes are still being written by someone else
// (a pull-through fill) that readers follow as it grows, so a client gets
// the first byte while the rest is still on its way.
//
// Promises: Available() never decreases; once Failed() is true it stays
// true and the bytes must not be taken as the whole content (a reader stops
// and drops its client: the content is incomplete or proved wrong).
#include <cstdint>
#include <functional>

namespace pier {

class GrowingFile {
 public:
  virtual ~GrowingFile() = default;
  // Bytes from offset 0 that may be read now.
  virtual uint64_t Available() const = 0;
  virtual bool Failed() const = 0;
  // Calls `ready` exactly once, from any thread, when Available() > offset
  // or Failed() — at once, on the calling thread, when that already holds.
  // `ready` must be cheap (post work elsewhere) and must not call back in.
  virtual void WhenBeyond(uint64_t offset, std::function<void()> ready) = 0;
};

}  // namespace pier
