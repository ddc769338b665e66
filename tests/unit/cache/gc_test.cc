// Store::CollectGarbage: what goes, what stays, and each race a registry has
// (cache/README.md, "Garbage collection"), with time moved by a FakeClock.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "test_util.h"

namespace pier {
namespace {

using nlohmann::json;
using testing::Bytes;
using testing::ImageBytes;
using testing::PushBlob;
using testing::ReadFd;
using testing::StoreTest;
using namespace std::chrono_literals;

constexpr int64_t kGrace = 3600;

class GcTest : public StoreTest {
 protected:
  GcTest() { clock_ = &fake_; }

  Result<Digest> Put(std::string_view repo, std::optional<std::string_view> tag, const std::string& bytes) {
    auto parsed = ParseManifest("", bytes);
    if (!parsed.ok()) return parsed.status();
    return store_->PutManifest(repo, tag, parsed->media_type, bytes, *parsed);
  }
  // Blobs then manifest; returns the manifest digest.
  Digest Image(const std::string& repo, std::optional<std::string_view> tag, const std::string& config,
               const std::vector<std::string>& layers) {
    EXPECT_TRUE(PushBlob(*store_, repo, config).ok());
    for (const auto& l : layers) EXPECT_TRUE(PushBlob(*store_, repo, l).ok());
    auto d = Put(repo, tag, ImageBytes(config, layers));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Digest();
  }
  GcReport Gc(GcOptions o = {}) {
    o.grace_seconds = kGrace;
    o.log = [this](const std::string& line) { log_.push_back(line); };
    auto r = store_->CollectGarbage(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GcReport{};
  }
  void PastGrace() { fake_.Advance(std::chrono::seconds(kGrace + 1)); }
  bool Stored(const std::string& content) { return store_->BlobStored(Sha256Of(content)); }
  bool Linked(std::string_view repo, const std::string& content) {
    return store_->StatBlob(repo, Sha256Of(content)).ok();
  }
  bool FileExists(const std::string& content) {
    const Digest d = Sha256Of(content);
    return std::filesystem::exists(root() / "blobs" / "sha256" / d.hex.substr(0, 2) / d.hex);
  }
  void ExpectFsckClean() {
    store_.reset();
    auto report = Fsck(root(), FsckOptions{metadata_, nullptr});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->problems.empty()) << report->problems.front();
    Reopen();
  }

  // Starts at the real time so file mtimes (written now) compare sensibly.
  FakeClock fake_{std::chrono::system_clock::now()};
  std::vector<std::string> log_;
};

TEST_F(GcTest, UnreferencedBlobStaysForTheGracePeriodThenGoes) {
  ASSERT_TRUE(PushBlob(*store_, "team/app", "loose").ok());
  GcReport r = Gc();
  EXPECT_EQ(r.blobs_deleted, 0u);
  EXPECT_TRUE(Stored("loose"));
  PastGrace();
  r = Gc();
  EXPECT_EQ(r.links_deleted, 1u);
  EXPECT_EQ(r.blobs_deleted, 1u);
  EXPECT_EQ(r.blob_bytes_deleted, 5u);
  EXPECT_FALSE(Stored("loose"));
  EXPECT_FALSE(FileExists("loose"));
  EXPECT_EQ(store_->GetStats().blobs, 0u);
  ExpectFsckClean();
}

TEST_F(GcTest, ReferencedBlobsStayAndDeletingTheManifestFreesThem) {
  const Digest m = Image("team/app", "v1", "cfg", {"base", "app"});
  Image("team/other", "v1", "cfg2", {"base"});  // shares "base"
  PastGrace();
  EXPECT_EQ(Gc().links_deleted, 0u);
  ASSERT_TRUE(store_->DeleteManifest("team/app", m).ok());
  GcReport r = Gc();
  EXPECT_EQ(r.links_deleted, 3u);  // cfg, base, app in team/app
  EXPECT_EQ(r.blobs_deleted, 2u);  // base stays for team/other
  EXPECT_FALSE(Stored("cfg"));
  EXPECT_FALSE(Stored("app"));
  EXPECT_TRUE(Stored("base"));
  EXPECT_TRUE(Linked("team/other", "base"));
  EXPECT_FALSE(Linked("team/app", "base"));
  ExpectFsckClean();
}

// Race: docker HEADs a layer that is old and unreferenced, finds it and PUTs
// a manifest without uploading it. The HEAD keeps it for the grace period.
TEST_F(GcTest, BlobReadWithinTheGracePeriodStaysForTheManifestThatFollows) {
  ASSERT_TRUE(PushBlob(*store_, "team/app", "cfg").ok());
  ASSERT_TRUE(PushBlob(*store_, "team/app", "layer").ok());
  PastGrace();
  ASSERT_TRUE(store_->StatBlob("team/app", Sha256Of("cfg")).ok());  // HEAD
  BlobInfo info;
  ASSERT_TRUE(store_->OpenBlob("team/app", Sha256Of("layer"), &info).ok());  // GET
  EXPECT_EQ(Gc().links_deleted, 0u);
  EXPECT_TRUE(Put("team/app", "v1", ImageBytes("cfg", {"layer"})).ok());
  // A read long ago protects nothing.
  ASSERT_TRUE(PushBlob(*store_, "team/app", "probed").ok());
  ASSERT_TRUE(store_->StatBlob("team/app", Sha256Of("probed")).ok());
  PastGrace();
  EXPECT_EQ(Gc().links_deleted, 1u);
  EXPECT_FALSE(Stored("probed"));
  EXPECT_TRUE(Stored("layer"));
}

// Race: a manifest put while the sweep deletes. The sweep plans without the
// repository's manifest lock and holds it while it deletes; the put waits for
// it and then finds its blobs (it touched them first, as clients do), and the
// new manifest keeps them.
TEST_F(GcTest, ManifestPutDuringTheSweepWaitsAndKeepsItsBlobs) {
  const Digest old = Image("team/app", std::nullopt, "cfg", {"layer"});
  ASSERT_TRUE(store_->DeleteManifest("team/app", old).ok());
  ASSERT_TRUE(PushBlob(*store_, "team/app", "garbage").ok());
  PastGrace();
  ASSERT_TRUE(store_->StatBlob("team/app", Sha256Of("cfg")).ok());
  ASSERT_TRUE(store_->StatBlob("team/app", Sha256Of("layer")).ok());

  std::mutex mu;
  std::condition_variable cv;
  bool sweeping = false, release = false;
  // Held inside the deletion of "garbage", under the repository's lock.
  auto hold = [&] {
    std::unique_lock lock(mu);
    sweeping = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  auto gc = std::async(std::launch::async, [&] {
    GcOptions o;
    o.grace_seconds = kGrace;
    o.log = [&](const std::string& line) {
      if (line.starts_with("delete blob link")) hold();
    };
    return store_->CollectGarbage(o);
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return sweeping; }));
  }
  auto put = std::async(std::launch::async, [&] { return Put("team/app", "v2", ImageBytes("cfg", {"layer"})); });
  // The put is held back by the sweep's lock.
  EXPECT_EQ(put.wait_for(200ms), std::future_status::timeout);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  auto r = gc.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto d = put.get();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(r->blobs_deleted, 1u);  // "garbage" only
  EXPECT_TRUE(Stored("cfg"));
  EXPECT_TRUE(Stored("layer"));
  EXPECT_FALSE(Stored("garbage"));
  PastGrace();
  EXPECT_EQ(Gc().links_deleted, 0u);  // now referenced
  ExpectFsckClean();
}

// Race: a cross-repository mount of a blob being collected. Both hold the
// digest's lock: the mount either comes first (a fresh link: kept) or finds
// the blob gone and the client uploads it (mount answers NotFound).
TEST_F(GcTest, MountBeforeCollectionKeepsTheBlobAndAfterItFindsNothing) {
  ASSERT_TRUE(PushBlob(*store_, "team/a", "shared").ok());
  PastGrace();
  ASSERT_TRUE(store_->MountBlob("team/b", "team/a", Sha256Of("shared")).ok());
  GcReport r = Gc();
  EXPECT_EQ(r.links_deleted, 1u);  // team/a's old link
  EXPECT_EQ(r.blobs_deleted, 0u);
  EXPECT_TRUE(Linked("team/b", "shared"));
  PastGrace();
  EXPECT_EQ(Gc().blobs_deleted, 1u);
  auto mount = store_->MountBlob("team/c", "team/b", Sha256Of("shared"));
  EXPECT_EQ(mount.status().code(), Code::kNotFound);
  // The client falls back to uploading; that works and is kept.
  ASSERT_TRUE(PushBlob(*store_, "team/c", "shared").ok());
  EXPECT_EQ(Gc().blobs_deleted, 0u);
  EXPECT_TRUE(Stored("shared"));
  ExpectFsckClean();
}

// Race: an upload that resumes after a day. Sessions go only when idle for
// uploads.max_age (a week by default), never while a request writes.
TEST_F(GcTest, UploadResumesAfterADayAndIdleSessionsGoAfterMaxAge) {
  auto up = store_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  {
    auto w = store_->OpenWriter("team/app", up->uuid, 0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Bytes(std::string("half-"))).ok());
    ASSERT_TRUE((*w)->Flush().ok());
  }
  fake_.Advance(25h);
  EXPECT_EQ(Gc().uploads_deleted, 0u);
  {
    auto w = store_->OpenWriter("team/app", up->uuid, 5);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(Bytes(std::string("done"))).ok());
    ASSERT_TRUE((*w)->Commit(Sha256Of("half-done")).ok());
  }
  EXPECT_TRUE(Stored("half-done"));

  auto idle = store_->StartUpload("team/app");
  ASSERT_TRUE(idle.ok());
  auto writing = store_->StartUpload("team/app");
  ASSERT_TRUE(writing.ok());
  auto w = store_->OpenWriter("team/app", writing->uuid, 0);  // a request holds it
  ASSERT_TRUE(w.ok());
  fake_.Advance(8 * 24h);
  GcReport r = Gc();
  EXPECT_EQ(r.uploads_deleted, 1u);
  EXPECT_EQ(store_->GetUpload("team/app", idle->uuid).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetUpload("team/app", writing->uuid).ok());
}

// Race: a blob a replication or a pull-through client is reading. Pins keep
// what a pending replication still needs; an open descriptor keeps reading
// the bytes even when the blob goes.
TEST_F(GcTest, PinnedContentStaysAndOpenReadersFinish) {
  const Digest pinned = Image("team/app", std::nullopt, "cfg-p", {"layer-p"});
  const Digest loose = Image("team/app", std::nullopt, "cfg-l", {"layer-l"});
  ASSERT_TRUE(PushBlob(*store_, "team/app", "being-sent").ok());
  BlobInfo info;
  auto reader = store_->OpenBlob("team/app", Sha256Of("layer-l"), &info);
  ASSERT_TRUE(reader.ok());
  PastGrace();
  GcOptions o;
  o.delete_untagged = true;
  o.pinned = [&](std::string_view repo, const Digest& d) {
    return repo == "team/app" && (d == pinned || d == Sha256Of("being-sent"));
  };
  GcReport r = Gc(o);
  EXPECT_EQ(r.manifests_deleted, 1u);
  EXPECT_TRUE(store_->GetManifest("team/app", pinned.str()).ok());
  EXPECT_FALSE(store_->GetManifest("team/app", loose.str()).ok());
  EXPECT_TRUE(Stored("cfg-p"));
  EXPECT_TRUE(Stored("layer-p"));
  EXPECT_TRUE(Stored("being-sent"));
  EXPECT_EQ(r.pinned_blobs, 1u);
  EXPECT_EQ(r.pinned_bytes, std::string("being-sent").size());
  EXPECT_FALSE(Stored("layer-l"));
  EXPECT_EQ(ReadFd(reader->get()), "layer-l");
  ExpectFsckClean();
}

TEST_F(GcTest, DeleteUntaggedKeepsWhatTagsReachAndReferrersOfKeptSubjects) {
  const Digest child = Image("team/app", std::nullopt, "cfg-c", {"layer-c"});
  const std::string index = json{{"schemaVersion", 2},
                                 {"mediaType", media::kOciIndex},
                                 {"manifests", {{{"mediaType", media::kOciManifest},
                                                 {"digest", child.str()},
                                                 {"size", 1}}}}}
                                .dump();
  ASSERT_TRUE(Put("team/app", "v1", index).ok());
  ASSERT_TRUE(PushBlob(*store_, "team/app", "sig").ok());
  ASSERT_TRUE(Put("team/app", std::nullopt, ImageBytes("sig", {}, child)).ok());  // a signature of the child
  const Digest untagged = Image("team/app", std::nullopt, "cfg-u", {"layer-u"});
  PastGrace();
  EXPECT_EQ(Gc().manifests_deleted, 0u);  // untagged stays unless asked
  GcOptions o;
  o.delete_untagged = true;
  GcReport r = Gc(o);
  EXPECT_EQ(r.manifests_deleted, 1u);
  EXPECT_FALSE(store_->GetManifest("team/app", untagged.str()).ok());
  EXPECT_TRUE(store_->GetManifest("team/app", child.str()).ok());
  EXPECT_TRUE(Stored("sig"));
  EXPECT_TRUE(Stored("layer-c"));
  EXPECT_FALSE(Stored("layer-u"));
  auto refs = store_->ListReferrers("team/app", child, "");
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(refs->size(), 1u);
}

// A manifest GC deletes takes its pull time with it, flushed or pending, as
// DeleteManifest does: pushed again, it is a manifest never pulled.
TEST_F(GcTest, DeletingAnUntaggedManifestDropsItsPullTime) {
  const Digest kept = Image("team/app", "v1", "cfg-k", {"layer-k"});
  const Digest gone = Image("team/app", std::nullopt, "cfg-u", {"layer-u"});
  auto pulled = [&](const Digest& d) -> int64_t {
    auto list = store_->ListArtifacts("team/app");
    EXPECT_TRUE(list.ok());
    if (!list.ok()) return -1;
    for (const auto& a : *list) {
      if (a.digest == d) return a.pulled_unix;
    }
    return -1;
  };
  store_->NotePull("team/app", gone);  // starts the flush period
  fake_.Advance(std::chrono::seconds(31));
  store_->NotePull("team/app", kept);  // flushes both
  fake_.Advance(std::chrono::seconds(1));
  store_->NotePull("team/app", gone);  // pending
  ASSERT_GT(pulled(gone), 0);
  PastGrace();
  GcOptions o;
  o.delete_untagged = true;
  EXPECT_EQ(Gc(o).manifests_deleted, 1u);
  EXPECT_EQ(pulled(gone), -1);
  EXPECT_EQ(Image("team/app", std::nullopt, "cfg-u", {"layer-u"}), gone);
  EXPECT_EQ(pulled(gone), 0);
  EXPECT_GT(pulled(kept), 0);
  ExpectFsckClean();
}

TEST_F(GcTest, ReferrersWhoseSubjectIsGoneAreCollected) {
  const Digest subject = Image("team/app", "v1", "cfg", {"layer"});
  ASSERT_TRUE(PushBlob(*store_, "team/app", "sbom").ok());
  auto ref = Put("team/app", std::nullopt, ImageBytes("sbom", {}, subject));
  ASSERT_TRUE(ref.ok());
  // A referrer may come before its subject: within the grace period it stays.
  ASSERT_TRUE(store_->DeleteManifest("team/app", subject).ok());
  EXPECT_EQ(Gc().manifests_deleted, 0u);
  PastGrace();
  GcReport r = Gc();
  EXPECT_EQ(r.manifests_deleted, 1u);
  EXPECT_FALSE(store_->GetManifest("team/app", ref->str()).ok());
  EXPECT_FALSE(Stored("sbom"));
  auto refs = store_->ListReferrers("team/app", subject, "");
  ASSERT_TRUE(refs.ok());
  EXPECT_TRUE(refs->empty());
  ExpectFsckClean();
}

TEST_F(GcTest, DryRunReportsWhatTheRealRunDoesAndChangesNothing) {
  const Digest a = Image("team/a", std::nullopt, "cfg-a", {"base", "a"});
  Image("team/b", std::nullopt, "cfg-b", {"base"});
  ASSERT_TRUE(PushBlob(*store_, "team/a", "loose").ok());
  PastGrace();
  GcOptions o;
  o.delete_untagged = true;
  o.dry_run = true;
  GcReport dry = Gc(o);
  EXPECT_TRUE(store_->GetManifest("team/a", a.str()).ok());
  EXPECT_TRUE(Stored("loose"));
  EXPECT_EQ(store_->GetStats().blobs, 5u);  // base is stored once
  EXPECT_FALSE(log_.empty());
  EXPECT_EQ(log_.front().rfind("[dry run] ", 0), 0u);
  PastGrace();  // the GetManifest above counts as a read
  o.dry_run = false;
  o.workers = 4;
  GcReport real = Gc(o);
  EXPECT_EQ(dry.manifests_deleted, real.manifests_deleted);
  EXPECT_EQ(dry.links_deleted, real.links_deleted);
  EXPECT_EQ(dry.blobs_deleted, real.blobs_deleted);
  EXPECT_EQ(dry.blob_bytes_deleted, real.blob_bytes_deleted);
  EXPECT_EQ(real.blobs_deleted, 5u);
  EXPECT_EQ(store_->GetStats().blobs, 0u);
  ExpectFsckClean();
}

TEST_F(GcTest, CrashLeftoversGoWithoutARestart) {
  ASSERT_TRUE(PushBlob(*store_, "team/app", "kept").ok());
  // A blob file whose record never got written, and an upload file without
  // its session.
  const Digest ghost = Sha256Of("ghost");
  const auto ghost_path = root() / "blobs" / "sha256" / ghost.hex.substr(0, 2) / ghost.hex;
  std::filesystem::create_directories(ghost_path.parent_path());
  std::ofstream(ghost_path) << "ghost";
  const auto stray_upload = root() / "uploads" / "0b5f3a4e-8c1d-4f2a-9b3c-1d2e3f4a5b6c";
  std::ofstream(stray_upload) << "stray";
  EXPECT_EQ(Gc().orphans_deleted, 0u);  // young: could be a commit in progress
  PastGrace();
  ASSERT_TRUE(store_->StatBlob("team/app", Sha256Of("kept")).ok());
  GcReport r = Gc();
  EXPECT_EQ(r.orphans_deleted, 2u);
  EXPECT_EQ(r.orphan_bytes_deleted, 10u);
  EXPECT_FALSE(std::filesystem::exists(ghost_path));
  EXPECT_FALSE(std::filesystem::exists(stray_upload));
  EXPECT_TRUE(Stored("kept"));
}

TEST_F(GcTest, StopEndsTheRunEarly) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PushBlob(*store_, "team/r" + std::to_string(i), "b" + std::to_string(i)).ok());
  PastGrace();
  std::atomic<bool> stop{true};
  GcOptions o;
  o.stop = &stop;
  GcReport r = Gc(o);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.blobs_deleted, 0u);
  stop = false;
  EXPECT_EQ(Gc(o).blobs_deleted, 5u);
}

}  // namespace
}  // namespace pier
