#pragma once
// The BlobStorage contract (cache/blob_storage.h) as value-parameterized
// tests: each implementation's test file instantiates
// BlobStorageContract with a Backend that gives a fresh storage and a way to
// put bytes into an upload session as its writer would.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "base/digest.h"
#include "cache/blob_storage.h"
#include "cache/layout.h"
#include "tests/unit/common/peers.h"
#include "tests/unit/common/temp_dir.h"

namespace pier::testing {

struct Backend {
  std::string name;
  // A fresh, empty storage under `dir`, and how to write an upload's bytes.
  // Null (and *why set) when the backend's server is missing.
  std::function<std::shared_ptr<BlobStorage>(const std::filesystem::path& dir, std::string* why)> make;
  std::function<void(BlobStorage&, const std::string& uuid, const std::string& bytes)> write_upload;
};

class BlobStorageContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string why;
    storage_ = GetParam().make(dir_.path(), &why);
    if (storage_ == nullptr) PIER_MISSING_PEER(why);
  }
  std::string ReadAll(BlobReader& r) {
    std::string out(r.size(), '\0');
    uint64_t off = 0;
    while (off < out.size()) {
      auto n = r.ReadAt(off, std::span<char>(out.data() + off, std::min<size_t>(7, out.size() - off)));
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      off += *n;
    }
    return out.substr(0, off);
  }
  // An upload holding `bytes`, promoted to its digest.
  Digest Promoted(const std::string& uuid, const std::string& bytes) {
    GetParam().write_upload(*storage_, uuid, bytes);
    const Digest d = Sha256Of(bytes);
    EXPECT_TRUE(storage_->Promote(uuid, d).ok());
    return d;
  }

  TempDir dir_{"pier-blob-storage"};
  std::shared_ptr<BlobStorage> storage_;
};

TEST_P(BlobStorageContract, PromotedUploadIsReadableByDigest) {
  const std::string bytes = "the bytes of one layer, read back in small pieces";
  const std::string uuid = NewUploadId();
  GetParam().write_upload(*storage_, uuid, bytes);
  auto up = storage_->StatUpload(uuid);
  ASSERT_TRUE(up.ok() && up->has_value());
  EXPECT_EQ((*up)->size, bytes.size());
  const Digest d = Sha256Of(bytes);
  auto before = storage_->Stat(d);
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->has_value());
  EXPECT_EQ(storage_->Open(d).status().code(), Code::kNotFound);

  ASSERT_TRUE(storage_->Promote(uuid, d).ok());
  auto reader = storage_->Open(d);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), bytes.size());
  EXPECT_EQ(ReadAll(**reader), bytes);
  char c = 0;
  auto past = (*reader)->ReadAt(bytes.size(), std::span<char>(&c, 1));
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, 0u);
  auto stat = storage_->Stat(d);
  ASSERT_TRUE(stat.ok() && stat->has_value());
  EXPECT_EQ((*stat)->name, d.hex);
  EXPECT_EQ((*stat)->size, bytes.size());
  // The upload's own bytes may remain (a copy) until RemoveUpload.
  EXPECT_TRUE(storage_->RemoveUpload(uuid).ok());
  auto gone = storage_->StatUpload(uuid);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(ReadAll(**storage_->Open(d)), bytes);
}

TEST_P(BlobStorageContract, ListsEveryBlobAndUpload) {
  std::set<std::string> want_blobs;
  for (int i = 0; i < 5; ++i) want_blobs.insert(Promoted(NewUploadId(), "blob " + std::to_string(i)).hex);
  const std::string pending = NewUploadId();
  GetParam().write_upload(*storage_, pending, "half an upload");
  std::set<std::string> blobs;
  ASSERT_TRUE(storage_->ListBlobs([&](const StoredObject& o) {
    blobs.insert(o.name);
    EXPECT_GT(o.size, 0u);
    EXPECT_GT(o.mtime_unix, 0);
    return true;
  }).ok());
  EXPECT_EQ(blobs, want_blobs);
  std::set<std::string> uploads;
  ASSERT_TRUE(storage_->ListUploads([&](const StoredObject& o) {
    uploads.insert(o.name);
    return true;
  }).ok());
  EXPECT_TRUE(uploads.contains(pending));
  // Stopping early is honoured.
  int seen = 0;
  ASSERT_TRUE(storage_->ListBlobs([&](const StoredObject&) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2);
}

TEST_P(BlobStorageContract, RemoveIsIdempotent) {
  const Digest d = Promoted(NewUploadId(), "short-lived");
  ASSERT_TRUE(storage_->Remove(d).ok());
  ASSERT_TRUE(storage_->Remove(d).ok());
  EXPECT_EQ(storage_->Open(d).status().code(), Code::kNotFound);
  EXPECT_TRUE(storage_->RemoveUpload(NewUploadId()).ok());
}

TEST_P(BlobStorageContract, UnpromoteGivesTheBytesBackToTheSession) {
  const std::string uuid = NewUploadId();
  const std::string bytes = "committed, then the record write failed";
  const Digest d = Promoted(uuid, bytes);
  ASSERT_TRUE(storage_->Unpromote(d, uuid).ok());
  auto blob = storage_->Stat(d);
  ASSERT_TRUE(blob.ok());
  EXPECT_FALSE(blob->has_value());
  auto up = storage_->StatUpload(uuid);
  ASSERT_TRUE(up.ok() && up->has_value());
  EXPECT_EQ((*up)->size, bytes.size());
  // A retried commit finds them.
  ASSERT_TRUE(storage_->Promote(uuid, d).ok());
  EXPECT_EQ(ReadAll(**storage_->Open(d)), bytes);
}

}  // namespace pier::testing
