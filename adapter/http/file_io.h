#pragma once
// Internal: the two system calls that move a file body to a client without
// holding it in memory. Boost-free so the session code stays about flow.
#include <cstddef>
#include <cstdint>

namespace pier::http::internal {

// One sendfile(2) from `fd` at *offset to the (non-blocking) socket `sock`,
// at most `max` bytes; *offset advances by what was sent. Returns the bytes
// sent (> 0), 0 when the file ends early, or -errno (-EAGAIN: socket full).
// EINTR is retried.
int64_t SendFileSome(int sock, int fd, uint64_t* offset, uint64_t max);

// One pread(2) of up to `size` bytes at `offset`. Returns the count (0 at
// end of file) or -errno. EINTR is retried.
int64_t ReadFileSome(int fd, uint64_t offset, char* data, size_t size);

}  // namespace pier::http::internal
