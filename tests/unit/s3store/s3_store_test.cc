// The store with its blob bytes in S3 (a real Ceph radosgw): chunked
// uploads whose parts, tail and hash state survive the writer, the process
// (a new Store on the same metadata: what another replica sees) and aborts;
// verification before anything appears under the digest; dedup, delete,
// and garbage collection of objects a crash left behind.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "base/clock.h"
#include "base/file.h"
#include "cache/store.h"
#include "cache/transcode/transcoder.h"
#include "tests/unit/cache/test_util.h"
#include "tests/unit/transcode/gzip_util.h"
#include "tests/unit/common/temp_dir.h"
#include "tests/unit/s3store/s3_env.h"

namespace pier::testing {
namespace {

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

// Deterministic bytes that do not repeat within a part.
std::string Pattern(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

class S3StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    s3_ = TestS3Storage(&why);
    if (s3_ == nullptr) PIER_MISSING_PEER(why);
    Reopen();
  }

  // A new Store on the same metadata folder and bucket prefix.
  void Reopen() {
    store_.reset();
    Store::Options o;
    o.root = dir_.path() / "data";
    o.blob_storage = s3_;
    o.clock = &clock_;
    o.warm_upload_bytes = 0;
    auto st = Store::Open(o);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
  }

  std::string ReadAll(const std::string& repo, const Digest& d) {
    BlobInfo info;
    auto r = store_->OpenBlobReader(repo, d, &info);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    std::string out(info.size, '\0');
    uint64_t off = 0;
    while (off < out.size()) {
      // Odd-sized reads cross the reader's windows.
      const size_t want = std::min<size_t>(777777, out.size() - off);
      auto n = (*r)->ReadAt(off, std::span<char>(out.data() + off, want));
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      off += *n;
    }
    out.resize(off);
    return out;
  }

  bool ObjectAt(const Digest& d) {
    auto st = s3_->Stat(d);
    EXPECT_TRUE(st.ok());
    return st.ok() && st->has_value();
  }

  size_t UploadObjects(const std::string& uuid) {
    size_t n = 0;
    client::Call call;
    auto page = s3_->client().List(s3_->UploadPrefix(uuid), "", 1000, call);
    EXPECT_TRUE(page.ok());
    if (page.ok()) n = page->objects.size();
    return n;
  }

  TempDir dir_{"pier-s3store"};
  FakeClock clock_{std::chrono::system_clock::now()};
  std::shared_ptr<s3::S3BlobStorage> s3_;
  std::unique_ptr<Store> store_;
};

TEST_F(S3StoreTest, ChunkedUploadContinuesAfterRestartAndVerifiesBeforePlacing) {
  // 3 MiB, 7 MiB and 1.5 MiB chunks over 5 MiB parts: tails smaller than a
  // part, a chunk spanning a part boundary, a last part shorter than the rest.
  const std::string blob = Pattern((11ull << 20) + (512 << 10), 7);
  const Digest d = Sha256Of(blob);
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  const size_t cuts[] = {0, 3u << 20, 10u << 20, blob.size()};
  for (int i = 0; i < 3; ++i) {
    auto w = store_->OpenWriter("team/app", up->uuid, cuts[i]);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(Span(blob.substr(cuts[i], cuts[i + 1] - cuts[i]))).ok());
    if (i < 2) {
      ASSERT_TRUE((*w)->Flush().ok());
      w->reset();
      // The next PATCH is served by "another replica": a new Store.
      Reopen();
      auto state = store_->GetUpload("team/app", up->uuid);
      ASSERT_TRUE(state.ok());
      EXPECT_EQ(state->offset, cuts[i + 1]);
      EXPECT_FALSE(ObjectAt(d)) << "nothing under the digest before the commit";
      continue;
    }
    auto info = (*w)->Commit(d);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->size, blob.size());
  }
  EXPECT_TRUE(ObjectAt(d));
  EXPECT_EQ(UploadObjects(up->uuid), 0u) << "the session's parts, tail and marker are gone";
  const std::string back = ReadAll("team/app", d);
  EXPECT_EQ(back.size(), blob.size());
  EXPECT_TRUE(back == blob);
  // Local file descriptors do not exist for S3 bytes.
  EXPECT_EQ(store_->OpenBlob("team/app", d, nullptr).status().code(), Code::kUnsupported);
}

// A pull-through fill lets readers follow the bytes as they arrive: with
// the bytes in S3, the writer keeps a spool file in the data folder for
// them, continued by the next writer of the session on this replica, and
// gone when the session ends (a reader holding it keeps reading).
TEST_F(S3StoreTest, AFollowedUploadSpoolsLocallyUntilItEnds) {
  const std::string blob = Pattern((6u << 20) + 12345, 9);
  const std::filesystem::path spool = dir_.path() / "data" / "uploads";
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  auto w = store_->OpenWriter("team/app", up->uuid, 0);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->OpenReader().status().code(), Code::kUnsupported);  // not asked to keep it
  (*w)->KeepBuffered();
  auto reader = (*w)->OpenReader();
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const size_t first = 3u << 20;
  ASSERT_TRUE((*w)->Append(std::span<const char>(blob.data(), first)).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  w->reset();  // a cut: the next writer of this replica continues the spool
  auto w2 = store_->OpenWriter("team/app", up->uuid, first);
  ASSERT_TRUE(w2.ok());
  (*w2)->KeepBuffered();
  ASSERT_TRUE((*w2)->Append(std::span<const char>(blob.data() + first, blob.size() - first)).ok());
  std::string seen(blob.size(), '\0');
  auto n = ReadAt(reader->get(), 0, std::span<char>(seen.data(), seen.size()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, blob.size());
  EXPECT_TRUE(seen == blob) << "the spool differs from the bytes appended";
  ASSERT_TRUE((*w2)->Commit(Sha256Of(blob)).ok());
  w2->reset();
  EXPECT_TRUE(std::filesystem::is_empty(spool)) << "the spool outlived its session";
  auto again = ReadAt(reader->get(), blob.size() - 10, std::span<char>(seen.data(), 10));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 10u);  // the open reader still reads
  EXPECT_EQ(ReadAll("team/app", Sha256Of(blob)), blob);
}

TEST_F(S3StoreTest, AbortedBytesAreDroppedEvenWhenPartsWentOut) {
  const std::string blob = Pattern(13u << 20, 11);
  const Digest d = Sha256Of(blob);
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  {
    auto w = store_->OpenWriter("team/app", up->uuid, 0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Span(blob.substr(0, 2u << 20))).ok());
    ASSERT_TRUE((*w)->Flush().ok());
    // 9 MiB more (a full part is sent), then the request breaks: no Flush.
    ASSERT_TRUE((*w)->Append(Span(blob.substr(2u << 20, 9u << 20))).ok());
  }
  auto state = store_->GetUpload("team/app", up->uuid);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->offset, 2u << 20);
  // A client resending from the acknowledged offset but with other bytes
  // then the right ones: the hash follows what was recorded, not what the
  // broken request sent.
  auto w = store_->OpenWriter("team/app", up->uuid, 2u << 20);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Append(Span(blob.substr(2u << 20))).ok());
  auto info = (*w)->Commit(d);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(ReadAll("team/app", d) == blob);
}

TEST_F(S3StoreTest, DigestMismatchLeavesNothingBehind) {
  const std::string blob = Pattern(6u << 20, 3);
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  auto w = store_->OpenWriter("team/app", up->uuid, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(Span(blob)).ok());
  const Digest wrong = Sha256Of("something else");
  auto info = (*w)->Commit(wrong);
  EXPECT_EQ(info.status().code(), Code::kDigestMismatch);
  EXPECT_FALSE(ObjectAt(wrong));
  EXPECT_FALSE(ObjectAt(Sha256Of(blob)));
  EXPECT_EQ(UploadObjects(up->uuid), 0u);
  EXPECT_EQ(store_->GetUpload("team/app", up->uuid).status().code(), Code::kNotFound);
}

TEST_F(S3StoreTest, DuplicatesAreStoredOnceAndTheLastUnlinkRemovesTheObject) {
  const std::string blob = Pattern(100000, 5);
  const Digest d = Sha256Of(blob);
  for (const char* repo : {"a/one", "b/two"}) {
    auto up = store_->StartUpload(repo);
    ASSERT_TRUE(up.ok());
    auto w = store_->OpenWriter(repo, up->uuid, 0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Span(blob)).ok());
    ASSERT_TRUE((*w)->Commit(d).ok());
    EXPECT_EQ(UploadObjects(up->uuid), 0u);
  }
  EXPECT_EQ(store_->GetStats().blobs, 1u);
  EXPECT_GT(store_->GetStats().dedup_saved_bytes, 0u);
  ASSERT_TRUE(store_->DeleteBlob("a/one", d).ok());
  EXPECT_TRUE(ObjectAt(d));
  EXPECT_TRUE(ReadAll("b/two", d) == blob);
  ASSERT_TRUE(store_->DeleteBlob("b/two", d).ok());
  EXPECT_FALSE(ObjectAt(d));
}

TEST_F(S3StoreTest, GcRemovesOldOrphanObjectsAndAbandonedSessionsOnly) {
  // An object under the blob keys with no record: a crash between Promote
  // and the record write (or a replica's commit in progress while young).
  const std::string orphan = "orphan bytes";
  const Digest od = Sha256Of(orphan);
  ASSERT_TRUE(s3_->remote_uploads()->Assemble("00000000-0000-4000-8000-000000000001", "", {}, orphan).ok());
  ASSERT_TRUE(s3_->Promote("00000000-0000-4000-8000-000000000001", od).ok());
  // A committed blob, and a session that was flushed and then forgotten.
  const std::string kept = Pattern(4096, 9);
  const Digest kd = Sha256Of(kept);
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  {
    auto w = store_->OpenWriter("team/app", up->uuid, 0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Span(kept)).ok());
    ASSERT_TRUE((*w)->Commit(kd).ok());
  }
  GcOptions young;
  young.grace_seconds = 3600;
  auto r = store_->CollectGarbage(young);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->orphans_deleted, 0u) << "a young object may be a commit in progress";
  EXPECT_TRUE(ObjectAt(od));
  EXPECT_TRUE(ObjectAt(kd));

  clock_.Advance(std::chrono::hours(3));
  GcOptions later = young;
  r = store_->CollectGarbage(later);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->orphans_deleted, 1u);
  EXPECT_FALSE(ObjectAt(od));
  EXPECT_EQ(UploadObjects("00000000-0000-4000-8000-000000000001"), 0u);
  // The committed blob no manifest references went too, by its record
  // (links past the grace period), as on local files.
  EXPECT_EQ(r->blobs_deleted, 1u);
  EXPECT_FALSE(ObjectAt(kd));
}

// zstd transcodes read their gzip source through the storage's reader (S3
// ranged reads here, no local file) and write the copy as a derived blob
// in the bucket.
TEST_F(S3StoreTest, TranscodesAGzipLayerHeldInTheBucket) {
  const std::string tar = DocBytes(3 << 20);
  const std::string gz = Gzip(tar);
  auto pushed = PushBlob(*store_, "proj/app", gz);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  std::shared_ptr<Store> shared(store_.get(), [](Store*) {});
  transcode::Transcoder::Options o;
  o.clock = &clock_;
  auto t = transcode::Transcoder::Open(shared, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto made = (*t)->Ensure("proj/app", Sha256Of(gz), 3);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->diff_id, Sha256Of(tar));
  EXPECT_EQ(made->source_size, gz.size());
  EXPECT_TRUE(ObjectAt(made->digest));
  BlobInfo info;
  auto r = store_->OpenStoredBlobReader(made->digest, &info);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string z(info.size, '\0');
  auto n = (*r)->ReadAt(0, std::span<char>(z.data(), z.size()));
  ASSERT_TRUE(n.ok());
  z.resize(*n);
  EXPECT_EQ(Sha256Of(z), made->digest);
  EXPECT_EQ(Unzstd(z), tar);
  t->reset();
}

TEST_F(S3StoreTest, RedirectUrlIsAPresignedGetOfTheBlob) {
  std::string why;
  auto redirecting = TestS3Storage(&why, 5ull << 20, /*redirect=*/true);
  ASSERT_NE(redirecting, nullptr) << why;
  EXPECT_EQ(s3_->RedirectUrl(Sha256Of("x"), 60), std::nullopt) << "off unless asked for";
  const std::string blob = "served by the object store itself";
  ASSERT_TRUE(redirecting->remote_uploads()->Assemble("00000000-0000-4000-8000-000000000002", "", {}, blob).ok());
  const Digest d = Sha256Of(blob);
  ASSERT_TRUE(redirecting->Promote("00000000-0000-4000-8000-000000000002", d).ok());
  auto url = redirecting->RedirectUrl(d, 300);
  ASSERT_TRUE(url.has_value());
  EXPECT_NE(url->find("X-Amz-Signature="), std::string::npos);
  EXPECT_NE(url->find(d.hex), std::string::npos);
  const std::string cmd = "curl -sf '" + *url + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string got;
  char buf[256];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) got.append(buf, n);
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_EQ(got, blob);
}

}  // namespace
}  // namespace pier::testing
