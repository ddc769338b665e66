#pragma once
// Shared by the token tests: a scratch folder and a P-256 key made in it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "adapter/auth/token_key.h"

#include "tests/unit/common/temp_dir.h"

namespace pier::auth::testing {

using ScratchDir = pier::testing::TempDir;

inline std::shared_ptr<const TokenKey> MakeKey(const std::filesystem::path& dir) {
  auto key = TokenKey::LoadOrCreate(dir);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return key.ok() ? *key : nullptr;
}

}  // namespace pier::auth::testing
