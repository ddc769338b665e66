#pragma once
// Helpers shared by the cache unit tests: a scratch directory per test and
// short ways to push blobs and read files.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include <vector>

#include "base/digest.h"
#include "base/manifest.h"
#include "cache/store.h"
#include "tests/unit/common/direct_io.h"
#include "tests/unit/common/temp_dir.h"
#include "tests/unit/common/test_metadata.h"

namespace pier::testing {


inline std::string ReadFd(int fd) {
  std::string out;
  char buf[4096];
  uint64_t off = 0;
  while (true) {
    auto n = ReadAt(fd, off, buf);
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
    off += *n;
  }
  return out;
}

// Regular files below `dir`, recursively.
inline size_t CountFiles(const std::filesystem::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

// Monolithic push: start, append everything, commit with its sha256.
inline Result<BlobInfo> PushBlob(Store& store, std::string_view repo, const std::string& content) {
  auto up = store.StartUpload(repo);
  if (!up.ok()) return up.status();
  auto w = store.OpenWriter(repo, up->uuid, 0);
  if (!w.ok()) return w.status();
  if (Status s = (*w)->Append(Bytes(content)); !s.ok()) return s;
  return (*w)->Commit(Sha256Of(content));
}

// The bytes of an OCI image manifest naming `config` and `layers` (plain tar
// media type) by content, with an OCI 1.1 subject when given.
inline std::string ImageBytes(const std::string& config, const std::vector<std::string>& layers,
                              std::optional<Digest> subject = std::nullopt) {
  auto desc = [](std::string_view mt, const std::string& c) {
    return nlohmann::json{{"mediaType", mt}, {"digest", Sha256Of(c).str()}, {"size", c.size()}};
  };
  nlohmann::json l = nlohmann::json::array();
  for (const auto& layer : layers) l.push_back(desc("application/vnd.oci.image.layer.v1.tar", layer));
  nlohmann::json m{{"schemaVersion", 2},
                   {"mediaType", media::kOciManifest},
                   {"config", desc("application/vnd.oci.image.config.v1+json", config)},
                   {"layers", l}};
  if (subject) m["subject"] = {{"mediaType", media::kOciManifest}, {"digest", subject->str()}, {"size", 1}};
  return m.dump();
}

// An OCI image in `repo` under `tag`: its own config and `layers` (plain tar
// media type), blobs pushed first; returns the manifest digest.
inline Digest PushImage(Store& store, const std::string& repo, const std::string& tag, const std::string& config,
                        const std::vector<std::string>& layers = {}) {
  auto desc = [](std::string_view mt, const std::string& c) {
    return nlohmann::json{{"mediaType", mt}, {"digest", Sha256Of(c).str()}, {"size", c.size()}};
  };
  EXPECT_TRUE(PushBlob(store, repo, config).ok());
  nlohmann::json l = nlohmann::json::array();
  for (const auto& layer : layers) {
    EXPECT_TRUE(PushBlob(store, repo, layer).ok());
    l.push_back(desc("application/vnd.oci.image.layer.v1.tar", layer));
  }
  const std::string bytes = nlohmann::json{{"schemaVersion", 2},
                                           {"mediaType", media::kOciManifest},
                                           {"config", desc("application/vnd.oci.image.config.v1+json", config)},
                                           {"layers", l}}
                                .dump();
  auto parsed = ParseManifest(media::kOciManifest, bytes);
  EXPECT_TRUE(parsed.ok());
  auto d = store.PutManifest(repo, tag, parsed->media_type, bytes, *parsed);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : Digest();
}

// A fixture owning a store in a scratch directory.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    PIER_TEST_METADATA(metadata_);
    Reopen();
  }
  // Closes the store before a derived fixture's members (its FakeClock) go:
  // closing flushes pull times stamped by the clock.
  void TearDown() override { store_.reset(); }

  void Reopen(int64_t upload_max_age_seconds = 7 * 24 * 3600) {
    store_.reset();  // RocksDB allows one open instance per directory
    Store::Options opts;
    opts.root = dir_.path();
    opts.upload_max_age_seconds = upload_max_age_seconds;
    opts.clock = clock_;
    opts.metadata = metadata_;
    auto s = Store::Open(opts);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  std::filesystem::path root() const { return dir_.path(); }

  // On the disk-backed folder ctest names (direct_io.h), so big uploads
  // take the O_DIRECT path.
  TempDir dir_{"pier-store", DirectIoRoot()};
  std::unique_ptr<Store> store_;
  // Where the records live (test_metadata.h): empty for RocksDB in dir_.
  DbOpener metadata_;
  // A fixture that moves time sets this (in its constructor) to its FakeClock.
  const Clock* clock_ = &SystemClock();
};

}  // namespace pier::testing
