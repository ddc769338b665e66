#include "replication/image_gate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pier::replication {
namespace {

struct Recorder {
  std::vector<int64_t> started;
  std::function<void()> Start(int64_t key) {
    return [this, key] { started.push_back(key); };
  }
};

TEST(ImageGate, FirstImageAloneUntilItsUnsentBytesFitTheOverlap) {
  ImageGate gate(100);
  Recorder r;
  gate.Enter(1, 1000, {}, r.Start(1));
  gate.Enter(2, 500, {}, r.Start(2));
  gate.Enter(3, 300, {}, r.Start(3));
  EXPECT_EQ(r.started, (std::vector<int64_t>{1}));
  EXPECT_EQ(gate.waiting(), 2u);
  gate.Sent(1, 850);  // 150 left > 100
  EXPECT_EQ(r.started, (std::vector<int64_t>{1}));
  gate.Sent(1, 60);  // 90 left: the smallest waiting image goes next
  EXPECT_EQ(r.started, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(gate.admitted_unsent(), 390u);
  gate.Leave(1);
  gate.Sent(3, 300);
  EXPECT_EQ(r.started, (std::vector<int64_t>{1, 3, 2}));
}

TEST(ImageGate, SmallImagesAreAdmittedTogether) {
  ImageGate gate(100);
  Recorder r;
  gate.Enter(1, 1000, {}, r.Start(1));
  for (int64_t k = 2; k <= 6; ++k) gate.Enter(k, 40, {}, r.Start(k));
  gate.Sent(1, 1000);
  // 0 + 40 + 40 + 40 = 120 > 100 stops it after three.
  EXPECT_EQ(r.started, (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(ImageGate, EqualSizesGoInArrivalOrder) {
  ImageGate gate(0);
  Recorder r;
  gate.Enter(7, 10, {}, r.Start(7));
  gate.Enter(5, 10, {}, r.Start(5));
  gate.Enter(6, 10, {}, r.Start(6));
  gate.Leave(7);
  gate.Leave(5);
  EXPECT_EQ(r.started, (std::vector<int64_t>{7, 5, 6}));
}

TEST(ImageGate, StoppedImagesAreAdmittedAtOnce) {
  ImageGate gate(0);
  Recorder r;
  std::stop_source stop;
  gate.Enter(1, 1000, {}, r.Start(1));
  gate.Enter(2, 1000, stop.get_token(), r.Start(2));
  EXPECT_EQ(r.started, (std::vector<int64_t>{1}));
  stop.request_stop();
  gate.Wake();
  EXPECT_EQ(r.started, (std::vector<int64_t>{1, 2}));
}

TEST(ImageGate, SentIsClampedAndUnknownKeysAreIgnored) {
  ImageGate gate(0);
  Recorder r;
  gate.Enter(1, 10, {}, r.Start(1));
  gate.Enter(2, 10, {}, r.Start(2));
  gate.Sent(9, 100);
  gate.Sent(1, 100);  // more than it had (a resent chunk): counts as 10
  EXPECT_EQ(gate.admitted_unsent(), 10u);
  EXPECT_EQ(r.started, (std::vector<int64_t>{1, 2}));
}

TEST(ImageGate, LeavingWhileWaitingDropsTheImage) {
  ImageGate gate(0);
  Recorder r;
  gate.Enter(1, 10, {}, r.Start(1));
  gate.Enter(2, 10, {}, r.Start(2));
  gate.Leave(2);
  gate.Leave(1);
  EXPECT_EQ(r.started, (std::vector<int64_t>{1}));
  EXPECT_EQ(gate.waiting(), 0u);
}

TEST(ImageGate, StartMayReenterTheGate) {
  // The engine's start callback submits jobs whose completion calls Sent on
  // another thread; here it calls back in directly: no self-deadlock.
  ImageGate gate(0);
  std::vector<int64_t> started;
  gate.Enter(1, 10, {}, [&] {
    started.push_back(1);
    gate.Sent(1, 10);
  });
  gate.Enter(2, 10, {}, [&] { started.push_back(2); });
  EXPECT_EQ(started, (std::vector<int64_t>{1, 2}));
}

}  // namespace
}  // namespace pier::replication
