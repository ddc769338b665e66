#pragma once
// The narrow file-system interface the store is built on: an owning file
// descriptor and the handful of durable-write primitives the storage model
// needs (write fully, fsync file and directory, atomic rename). Everything
// returns Status; nothing throws.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Opens for reading. NotFound when the file does not exist.
Result<UniqueFd> OpenForRead(const std::filesystem::path& path);
// Opens (creating if needed, mode 0644) for writing without truncation.
Result<UniqueFd> OpenForWrite(const std::filesystem::path& path);
// Writes all of `data` at `offset` (pwrite loop).
Status WriteAt(int fd, uint64_t offset, std::span<const char> data);
// Reads a whole small file (secrets, certificates, config): InvalidArgument
// naming the path when it is larger than max_bytes.
Result<std::string> ReadSmallFile(const std::filesystem::path& path, size_t max_bytes = 1 << 20);
// Reads up to data.size() bytes at offset; returns the count (0 at EOF).
Result<size_t> ReadAt(int fd, uint64_t offset, std::span<char> data);
// Starts asynchronous writeback of [offset, offset+len) so a later fsync is
// short (sync_file_range WRITE). Best effort; never fails the caller.
void StartWriteback(int fd, uint64_t offset, uint64_t len);
Status Fsync(int fd);
Status Truncate(int fd, uint64_t size);
Result<uint64_t> FileSize(int fd);
// fsyncs the directory so a rename or create inside it is durable.
Status FsyncDir(const std::filesystem::path& dir);
// rename(2); atomic replacement within one file system.
Status RenameFile(const std::filesystem::path& from, const std::filesystem::path& to);
// Creates the directory and parents; OK if it exists.
Status MakeDirs(const std::filesystem::path& dir);
// Removes a file; OK if it does not exist.
Status RemoveFile(const std::filesystem::path& path);
// Names of the entries of `dir` (without "." and ".."), unordered.
// NotFound when the directory does not exist.
Result<std::vector<std::string>> ListDir(const std::filesystem::path& dir);

}  // namespace pier
