#pragma once
// Shared by the token tests: a scratch folder and a P-256 key made in it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "adapter/auth/token_key.h"

namespace pier::auth::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pier-token-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::shared_ptr<const TokenKey> MakeKey(const std::filesystem::path& dir) {
  auto key = TokenKey::LoadOrCreate(dir);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return key.ok() ? *key : nullptr;
}

}  // namespace pier::auth::testing
