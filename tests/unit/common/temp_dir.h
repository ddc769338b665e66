#pragma once
// Shared by every unit-test area: a scratch folder per test and whole-file
// reads and writes. One copy, so a fix (or a leak) shows up everywhere.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>

namespace pier::testing {

// A fresh folder under the temp directory, removed with everything in it.
// Aborts when the folder cannot be made: a test without its folder would
// only report confusing failures later.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "pier-test")
      : TempDir(prefix, std::filesystem::temp_directory_path()) {}
  // The same under `parent` (created if missing), e.g. a folder on a disk.
  TempDir(const std::string& prefix, const std::filesystem::path& parent) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    std::string tmpl = (parent / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The whole file; empty when it cannot be read.
inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the file's content, creating its folder first.
inline void WriteFile(const std::filesystem::path& p, const std::string& content) {
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
}

// A string's bytes as the span the file and writer interfaces take.
inline std::span<const char> Bytes(const std::string& s) { return std::span<const char>(s.data(), s.size()); }

}  // namespace pier::testing
