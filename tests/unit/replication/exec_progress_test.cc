// ExecProgress: an execution's byte counts add up (sent + skipped + pending
// == total) whatever order blobs finish in, and count a digest once.
#include "replication/exec_progress.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

void ExpectAddsUp(const TransferProgress& p) {
  EXPECT_EQ(p.bytes_sent + p.bytes_skipped + p.bytes_pending, p.bytes_total);
}

TEST(ExecProgress, ASharedBlobCountsOnce) {
  ExecProgress x;
  EXPECT_TRUE(x.Add("sha256:base", 1000));
  EXPECT_FALSE(x.Add("sha256:base", 1000));  // a second image with the same base
  EXPECT_TRUE(x.Add("sha256:top", 10));
  auto p = x.Snapshot();
  EXPECT_EQ(p.bytes_total, 1010u);
  EXPECT_EQ(p.bytes_pending, 1010u);
  EXPECT_EQ(p.blobs_pending, 2u);
  x.Finished("sha256:base", BlobOutcome::kUploaded);
  x.Finished("sha256:base", BlobOutcome::kMounted);  // the other task's job mounts it
  p = x.Snapshot();
  EXPECT_EQ(p.bytes_sent, 1000u);
  EXPECT_EQ(p.bytes_skipped, 0u);
  EXPECT_EQ(p.blobs_done, 1u);
  ExpectAddsUp(p);
}

TEST(ExecProgress, AcknowledgedBytesMoveWithinABlobAndNeverPastIt) {
  ExecProgress x;
  (void)x.Add("sha256:a", 1000);
  x.Acknowledged("sha256:a", 300);
  EXPECT_EQ(x.Snapshot().bytes_sent, 300u);
  EXPECT_EQ(x.Snapshot().bytes_pending, 700u);
  x.Acknowledged("sha256:a", 5000);  // never more than the blob
  EXPECT_EQ(x.Snapshot().bytes_sent, 1000u);
  x.Finished("sha256:a", BlobOutcome::kUploaded);
  ExpectAddsUp(x.Snapshot());
  EXPECT_EQ(x.Snapshot().bytes_sent, 1000u);
}

// The link rate (Runner::NoteLinkRate) is measured on what crossed the
// link: a gzip layer sent as its 600-byte zstd copy counts 600, not 1000.
TEST(ExecProgress, WireBytesAreWhatWasAcknowledged) {
  ExecProgress x;
  (void)x.Add("sha256:gz", 1000);
  x.Acknowledged("sha256:gz", 400);
  x.Acknowledged("sha256:gz", 200);
  x.Finished("sha256:gz", BlobOutcome::kUploaded);
  EXPECT_EQ(x.Snapshot().bytes_sent, 1000u);  // the plan's size, for the progress bar
  EXPECT_EQ(x.WireBytes(), 600u);
  (void)x.Add("sha256:there", 50);
  x.AlreadyThere("sha256:there", 50);  // resumed: not sent by this run
  EXPECT_EQ(x.WireBytes(), 600u);
}

TEST(ExecProgress, ResumedBytesAreAlreadyThereNotSent) {
  ExecProgress x;
  (void)x.Add("sha256:a", 1000);
  x.AlreadyThere("sha256:a", 400);  // the Range of an upload from an earlier run
  x.Acknowledged("sha256:a", 600);
  x.Finished("sha256:a", BlobOutcome::kUploaded);
  auto p = x.Snapshot();
  EXPECT_EQ(p.bytes_skipped, 400u);
  EXPECT_EQ(p.bytes_sent, 600u);
  EXPECT_EQ(p.bytes_pending, 0u);
}

TEST(ExecProgress, AFailedBlobStaysPendingButNotMoving) {
  ExecProgress x;
  (void)x.Add("sha256:a", 1000);
  (void)x.Add("sha256:b", 500);
  x.Acknowledged("sha256:a", 200);
  x.Finished("sha256:a", BlobOutcome::kFailed);
  auto p = x.Snapshot();
  EXPECT_EQ(p.bytes_pending, 1300u);  // not at the destination
  EXPECT_EQ(x.MovingBytes(), 500u);   // but only b's bytes are on their way (the ETA's)
  ExpectAddsUp(p);
  // Another task needing a makes it good.
  x.Finished("sha256:a", BlobOutcome::kUploaded);
  EXPECT_EQ(x.Snapshot().bytes_sent, 1000u);
  EXPECT_EQ(x.MovingBytes(), 500u);
  x.Finished("sha256:b", BlobOutcome::kSkipped);
  p = x.Snapshot();
  EXPECT_EQ(p.bytes_skipped, 500u);
  EXPECT_EQ(p.bytes_pending, 0u);
  EXPECT_EQ(x.MovingBytes(), 0u);
  ExpectAddsUp(p);
}

}  // namespace
}  // namespace pier::replication
