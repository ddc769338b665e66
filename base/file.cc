#include "base/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

namespace pier {
namespace {

std::string ErrnoText(int err) { return std::generic_category().message(err); }

// A full disk (or quota) is not an I/O fault: callers answer it differently
// (a registry refuses the push for good instead of a retryable 500).
// ENOENT is NotFound only where a path was named (`named_path`).
Status ErrnoCode(std::string m, int err, bool named_path = true) {
  if (err == ENOENT && named_path) return Status::NotFound(std::move(m));
  if (err == ENOSPC || err == EDQUOT) return Status::ResourceExhausted(std::move(m));
  return Status::IOError(std::move(m));
}

Status ErrnoStatus(std::string_view op, const std::filesystem::path& path, int err) {
  return ErrnoCode(std::string(op) + " " + path.string() + ": " + ErrnoText(err), err);
}

Status FdStatus(std::string_view op, int err) {
  return ErrnoCode(std::string(op) + ": " + ErrnoText(err), err, /*named_path=*/false);
}

Result<UniqueFd> OpenWithFlags(const std::filesystem::path& path, int flags, mode_t mode) {
  while (true) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EINTR) return ErrnoStatus("open", path, errno);
  }
}

}  // namespace

void UniqueFd::reset(int fd) {
  // close(2) is not retried on EINTR: on Linux the descriptor is released
  // either way and a retry could close a descriptor another thread reused.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<UniqueFd> OpenForRead(const std::filesystem::path& path) { return OpenWithFlags(path, O_RDONLY, 0); }

Result<UniqueFd> OpenForWrite(const std::filesystem::path& path) {
  // O_RDWR rather than O_WRONLY: upload writers re-read their file to rebuild
  // the running hash after a restart or an aborted append.
  return OpenWithFlags(path, O_RDWR | O_CREAT, 0644);
}

Status WriteAt(int fd, uint64_t offset, std::span<const char> data) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FdStatus("pwrite", errno);
    }
    if (n == 0) return Status::IOError("pwrite: wrote nothing");
    data = data.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Result<size_t> ReadAt(int fd, uint64_t offset, std::span<char> data) {
  size_t total = 0;
  while (total < data.size()) {
    ssize_t n = ::pread(fd, data.data() + total, data.size() - total, static_cast<off_t>(offset + total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return FdStatus("pread", errno);
    }
    if (n == 0) break;  // EOF
    total += static_cast<size_t>(n);
  }
  return total;
}

void StartWriteback(int fd, uint64_t offset, uint64_t len) {
  // Best effort: on file systems without support the later fsync does the work.
  (void)::sync_file_range(fd, static_cast<off64_t>(offset), static_cast<off64_t>(len), SYNC_FILE_RANGE_WRITE);
}

Status Fsync(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return FdStatus("fsync", errno);
  }
  return Status::OK();
}

Status Truncate(int fd, uint64_t size) {
  while (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return FdStatus("ftruncate", errno);
  }
  return Status::OK();
}

Result<uint64_t> FileSize(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return FdStatus("fstat", errno);
  return static_cast<uint64_t>(st.st_size);
}

Status FsyncDir(const std::filesystem::path& dir) {
  auto fd = OpenWithFlags(dir, O_RDONLY | O_DIRECTORY, 0);
  if (!fd.ok()) return fd.status();
  return Fsync(fd->get());
}

Status RenameFile(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from, errno);
  return Status::OK();
}

Status MakeDirs(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoCode("mkdir " + dir.string() + ": " + ec.message(), ec.value(), /*named_path=*/false);
  return Status::OK();
}

Status RemoveFile(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink", path, errno);
  return Status::OK();
}

Result<std::vector<std::string>> ListDir(const std::filesystem::path& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(d.get());
    if (e == nullptr) break;
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  if (errno != 0) return ErrnoStatus("readdir", dir, errno);
  return names;
}

Result<std::string> ReadSmallFile(const std::filesystem::path& path, size_t max_bytes) {
  Result<UniqueFd> fd = OpenForRead(path);
  if (!fd.ok()) return fd.status();
  std::string out;
  char buf[16384];
  while (true) {
    Result<size_t> n = ReadAt(fd->get(), out.size(), std::span<char>(buf, sizeof buf));
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    if (out.size() + *n > max_bytes) {
      return Status::InvalidArgument(path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, *n);
  }
}

}  // namespace pier
