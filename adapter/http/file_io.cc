#include "adapter/http/file_io.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>

namespace pier::http::internal {

int64_t SendFileSome(int sock, int fd, uint64_t* offset, uint64_t max) {
  // sendfile moves at most 0x7ffff000 bytes per call anyway.
  size_t count = static_cast<size_t>(max < (1u << 30) ? max : (1u << 30));
  for (;;) {
    auto off = static_cast<off_t>(*offset);
    ssize_t n = ::sendfile(sock, fd, &off, count);
    if (n >= 0) {
      *offset = static_cast<uint64_t>(off);
      return n;
    }
    if (errno == EINTR) continue;
    return -static_cast<int64_t>(errno);
  }
}

int64_t ReadFileSome(int fd, uint64_t offset, char* data, size_t size) {
  for (;;) {
    ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return -static_cast<int64_t>(errno);
  }
}

}  // namespace pier::http::internal
