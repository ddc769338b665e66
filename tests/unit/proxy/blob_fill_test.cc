// BlobFill: what readers of a growing download may send, and when they are
// woken.
#include "cache/proxy/blob_fill.h"

#include <gtest/gtest.h>

#include <atomic>

namespace pier::proxy {
namespace {

TEST(BlobFill, HoldsBackTheLastByteUntilVerified) {
  BlobFill fill("hub/x", 0);
  EXPECT_EQ(fill.Available(), 0u) << "nothing before the size is known";
  fill.Start(UniqueFd(), 100);
  fill.Grew(40);
  EXPECT_EQ(fill.Available(), 40u);
  fill.Grew(100);
  EXPECT_EQ(fill.Available(), 99u) << "a complete body only once its digest is verified";
  fill.Finish(Status::OK());
  EXPECT_EQ(fill.Available(), 100u);
  EXPECT_FALSE(fill.Failed());
}

TEST(BlobFill, WakesReadersWhenBytesArriveOrTheFillFails) {
  BlobFill fill("hub/x", 0);
  fill.Start(UniqueFd(), 100);
  std::atomic<int> woken{0};
  fill.WhenBeyond(0, [&] { ++woken; });
  fill.WhenBeyond(50, [&] { woken += 10; });
  EXPECT_EQ(woken.load(), 0);
  fill.Grew(10);
  EXPECT_EQ(woken.load(), 1) << "only the reader at offset 0";
  fill.Grew(50);
  EXPECT_EQ(woken.load(), 1) << "offset 50 needs byte 50";
  fill.WhenBeyond(5, [&] { woken += 100; });
  EXPECT_EQ(woken.load(), 101) << "already there: called at once";
  fill.Finish(Status::DigestMismatch("flipped"));
  EXPECT_EQ(woken.load(), 111) << "a failure wakes every reader";
  EXPECT_TRUE(fill.Failed());
  EXPECT_EQ(fill.Available(), 50u) << "never the whole body";
  fill.WhenBeyond(99, [&] { woken += 1000; });
  EXPECT_EQ(woken.load(), 1111);
  EXPECT_EQ(fill.Wait().code(), Code::kDigestMismatch);
  EXPECT_FALSE(fill.WaitStarted()) << "a failed download is not to be streamed";
}

TEST(BlobFill, OtherNamesAreLinkedOnlyWhileRunning) {
  BlobFill fill("hub/x", 0);
  EXPECT_TRUE(fill.AlsoLink("mirror/x"));
  EXPECT_EQ(fill.TakeAlsoLinked(), std::vector<std::string>{"mirror/x"});
  fill.Finish(Status::OK());
  EXPECT_FALSE(fill.AlsoLink("other/x")) << "over: the caller links it itself";
}

}  // namespace
}  // namespace pier::proxy
