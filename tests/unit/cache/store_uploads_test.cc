// Store: upload sessions — chunked and resumable writes, offsets, the single
// writer rule, cancel, and restarts in the middle of an upload.
#include <gtest/gtest.h>

#include "cache/layout.h"
#include "test_util.h"

namespace pier {
namespace {

using testing::Bytes;
using testing::StoreTest;

class UploadTest : public StoreTest {
 protected:
  std::string Start(std::string_view repo = "a") {
    auto up = store_->StartUpload(repo);
    EXPECT_TRUE(up.ok()) << up.status().ToString();
    return up.ok() ? up->uuid : std::string();
  }
  std::unique_ptr<UploadWriter> Writer(const std::string& uuid, std::optional<uint64_t> offset,
                                       std::string_view repo = "a") {
    auto w = store_->OpenWriter(repo, uuid, offset);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  uint64_t Offset(const std::string& uuid) {
    auto st = store_->GetUpload("a", uuid);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? st->offset : UINT64_MAX;
  }
  std::filesystem::path UploadFile(const std::string& uuid) { return Layout(root()).UploadPath(uuid); }
};

TEST_F(UploadTest, StartAndGet) {
  const std::string uuid = Start("org/app");
  EXPECT_TRUE(IsValidUploadId(uuid));
  auto st = store_->GetUpload("org/app", uuid);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->repo, "org/app");
  EXPECT_EQ(st->offset, 0u);
  EXPECT_GT(st->started_unix, 0);
  EXPECT_EQ(store_->GetUpload("org/other", uuid).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetUpload("org/app", "not-a-uuid").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetUpload("org/app", NewUploadId()).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->OpenWriter("org/other", uuid, 0).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetStats().uploads, 1u);
}

TEST_F(UploadTest, ChunkedWithFlushAndReopenedWriters) {
  const std::string uuid = Start();
  {
    auto w = Writer(uuid, 0);
    ASSERT_TRUE(w->Append(Bytes("abc")).ok());
    ASSERT_TRUE(w->Flush().ok());
    EXPECT_EQ(w->size(), 3u);
  }
  EXPECT_EQ(Offset(uuid), 3u);
  {
    auto w = Writer(uuid, 3);
    EXPECT_EQ(w->size(), 3u);
    ASSERT_TRUE(w->Append(Bytes("de")).ok());
    ASSERT_TRUE(w->Append(Bytes("f")).ok());
    ASSERT_TRUE(w->Flush().ok());
    ASSERT_TRUE(w->Flush().ok());  // nothing new: fine
  }
  EXPECT_EQ(Offset(uuid), 6u);
  auto w = Writer(uuid, 6);
  auto info = w->Commit(Sha256Of("abcdef"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 6u);
  EXPECT_EQ(w->Commit(Sha256Of("abcdef")).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(w->Append(Bytes("x")).code(), Code::kFailedPrecondition);
  w.reset();
  EXPECT_EQ(store_->GetUpload("a", uuid).status().code(), Code::kNotFound);
  BlobInfo bi;
  auto fd = store_->OpenBlob("a", Sha256Of("abcdef"), &bi);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(testing::ReadFd(fd->get()), "abcdef");
}

TEST_F(UploadTest, WrongOffsetIsOutOfRange) {
  const std::string uuid = Start();
  {
    auto w = Writer(uuid, 0);
    ASSERT_TRUE(w->Append(Bytes("abc")).ok());
    ASSERT_TRUE(w->Flush().ok());
  }
  EXPECT_EQ(store_->OpenWriter("a", uuid, 0).status().code(), Code::kOutOfRange);
  EXPECT_EQ(store_->OpenWriter("a", uuid, 4).status().code(), Code::kOutOfRange);
  EXPECT_TRUE(store_->OpenWriter("a", uuid, 3).ok());
  EXPECT_TRUE(store_->OpenWriter("a", uuid, std::nullopt).ok());
}

TEST_F(UploadTest, OneWriterAtATime) {
  const std::string uuid = Start();
  auto w = Writer(uuid, 0);
  EXPECT_EQ(store_->OpenWriter("a", uuid, std::nullopt).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(store_->CancelUpload("a", uuid).code(), Code::kFailedPrecondition);
  w.reset();
  EXPECT_TRUE(store_->OpenWriter("a", uuid, std::nullopt).ok());
  // A failed open (wrong offset) does not leave the session claimed.
  EXPECT_EQ(store_->OpenWriter("a", uuid, 9).status().code(), Code::kOutOfRange);
  EXPECT_TRUE(store_->OpenWriter("a", uuid, 0).ok());
}

TEST_F(UploadTest, UnflushedBytesAreDroppedWithTheWriter) {
  const std::string uuid = Start();
  {
    auto w = Writer(uuid, 0);
    ASSERT_TRUE(w->Append(Bytes("abc")).ok());
    ASSERT_TRUE(w->Flush().ok());
    ASSERT_TRUE(w->Append(Bytes("zzz")).ok());
    EXPECT_EQ(w->size(), 6u);
  }
  EXPECT_EQ(Offset(uuid), 3u);
  EXPECT_EQ(std::filesystem::file_size(UploadFile(uuid)), 3u);
  auto w = Writer(uuid, 3);
  ASSERT_TRUE(w->Append(Bytes("def")).ok());
  EXPECT_TRUE(w->Commit(Sha256Of("abcdef")).ok());
}

TEST_F(UploadTest, AbortRewindsAndHashIsRebuilt) {
  const std::string uuid = Start();
  auto w = Writer(uuid, 0);
  ASSERT_TRUE(w->Append(Bytes("abc")).ok());
  ASSERT_TRUE(w->Flush().ok());
  ASSERT_TRUE(w->Append(Bytes("WRONG")).ok());
  w->Abort();
  EXPECT_EQ(w->size(), 3u);
  EXPECT_EQ(std::filesystem::file_size(UploadFile(uuid)), 3u);
  ASSERT_TRUE(w->Append(Bytes("def")).ok());
  auto info = w->Commit(Sha256Of("abcdef"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
}

TEST_F(UploadTest, CommitWithoutFlushHashesEverything) {
  const std::string uuid = Start();
  {
    auto w = Writer(uuid, 0);
    ASSERT_TRUE(w->Append(Bytes("abc")).ok());
    ASSERT_TRUE(w->Flush().ok());
    w->Abort();  // nothing unflushed: the hash is kept
  }
  auto w = Writer(uuid, 3);
  ASSERT_TRUE(w->Append(Bytes("def")).ok());
  ASSERT_TRUE(w->Commit(Sha256Of("abcdef")).ok());
}

TEST_F(UploadTest, Cancel) {
  const std::string uuid = Start();
  {
    auto w = Writer(uuid, 0);
    ASSERT_TRUE(w->Append(Bytes("abc")).ok());
    ASSERT_TRUE(w->Flush().ok());
  }
  EXPECT_TRUE(std::filesystem::exists(UploadFile(uuid)));
  EXPECT_EQ(store_->CancelUpload("b", uuid).code(), Code::kNotFound);
  ASSERT_TRUE(store_->CancelUpload("a", uuid).ok());
  EXPECT_FALSE(std::filesystem::exists(UploadFile(uuid)));
  EXPECT_EQ(store_->GetUpload("a", uuid).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->CancelUpload("a", uuid).code(), Code::kNotFound);
  EXPECT_EQ(store_->GetStats().uploads, 0u);
}

TEST_F(UploadTest, RestartMidUpload) {
  const std::string uuid = Start();
  {
    auto w = Writer(uuid, 0);
    ASSERT_TRUE(w->Append(Bytes("abc")).ok());
    ASSERT_TRUE(w->Flush().ok());
  }
  store_.reset();
  // A crash after unacknowledged appends: bytes past the committed offset.
  {
    std::ofstream f(UploadFile(uuid), std::ios::binary | std::ios::app);
    f << "garbage-never-acknowledged";
  }
  Reopen();
  EXPECT_EQ(Offset(uuid), 3u);
  EXPECT_EQ(std::filesystem::file_size(UploadFile(uuid)), 3u);
  EXPECT_EQ(store_->GetStats().uploads, 1u);
  auto w = Writer(uuid, 3);  // rebuilds the running hash from the file
  ASSERT_TRUE(w->Append(Bytes("def")).ok());
  auto info = w->Commit(Sha256Of("abcdef"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 6u);
}

TEST_F(UploadTest, WriterOutlivesStore) {
  const std::string uuid = Start();
  auto w = Writer(uuid, 0);
  store_.reset();
  ASSERT_TRUE(w->Append(Bytes("abc")).ok());
  ASSERT_TRUE(w->Flush().ok());
  EXPECT_TRUE(w->Commit(Sha256Of("abc")).ok());
  w.reset();
  Reopen();
  EXPECT_TRUE(store_->StatBlob("a", Sha256Of("abc")).ok());
}

TEST_F(UploadTest, SessionWithoutWriterSurvivesRestart) {
  const std::string uuid = Start();
  Reopen();
  EXPECT_EQ(Offset(uuid), 0u);
  auto w = Writer(uuid, 0);
  ASSERT_TRUE(w->Append(Bytes("x")).ok());
  EXPECT_TRUE(w->Commit(Sha256Of("x")).ok());
}

// Big uploads go through direct I/O past the first few MiB: flushes, an
// abort of unflushed bytes and a reopened writer mid-stream must still give
// exactly the bytes that were kept.
TEST_F(UploadTest, BigChunkedUploadWithFlushAbortAndReopen) {
  PIER_REQUIRE_DIRECT_IO(root());  // else only the buffered fallback runs
  std::string data(13 * 1024 * 1024 + 777, '\0');
  uint32_t x = 12345;
  for (auto& c : data) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
  const std::string uuid = Start();
  const size_t piece = 256 * 1024 + 3;
  size_t at = 0;
  {
    auto w = Writer(uuid, 0);
    for (; at < 7 * 1024 * 1024; at += piece) ASSERT_TRUE(w->Append(Bytes(data.substr(at, piece))).ok());
    ASSERT_TRUE(w->Flush().ok());
    EXPECT_EQ(std::filesystem::file_size(UploadFile(uuid)), at);
    ASSERT_TRUE(w->Append(Bytes(std::string(3 * 1024 * 1024, 'W'))).ok());  // never flushed
  }
  EXPECT_EQ(Offset(uuid), at);
  EXPECT_EQ(std::filesystem::file_size(UploadFile(uuid)), at);
  auto w = Writer(uuid, at);
  for (; at < data.size(); at += piece) {
    ASSERT_TRUE(w->Append(Bytes(data.substr(at, std::min(piece, data.size() - at)))).ok());
    if (at > 11 * 1024 * 1024 && at < 11 * 1024 * 1024 + piece) {
      ASSERT_TRUE(w->Flush().ok());
      ASSERT_TRUE(w->Append(Bytes("WRONG")).ok());
      w->Abort();
      ASSERT_TRUE(w->Append(Bytes(data.substr(at + piece, 10))).ok());
      at += 10;
    }
  }
  auto info = w->Commit(Sha256Of(data));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  BlobInfo bi;
  auto fd = store_->OpenBlob("a", Sha256Of(data), &bi);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(testing::ReadFd(fd->get()) == data, true);
}

}  // namespace
}  // namespace pier
