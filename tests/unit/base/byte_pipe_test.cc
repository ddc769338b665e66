// BytePipe between real threads: ordering (sha256 of a pseudo-random stream
// on both sides), the capacity bound, and how each side learns that the
// other one stopped. Waits are on conditions with deadlines, never sleeps.
#include "base/byte_pipe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/digest.h"
#include "tests/unit/common/wait.h"

namespace pier {
namespace {

using namespace std::chrono_literals;

std::span<const char> Bytes(std::string_view s) { return {s.data(), s.size()}; }

// Writes `total` pseudo-random bytes in pieces of random size, then
// Finishes; returns the sha256 of what it wrote.
std::future<Digest> Produce(std::unique_ptr<BytePipe> writer, size_t total, uint32_t seed) {
  return std::async(std::launch::async, [writer = std::move(writer), total, seed] {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<size_t> piece_size(1, 200000);
    Sha256 hash;
    std::string piece;
    for (size_t sent = 0; sent < total;) {
      piece.resize(std::min(piece_size(rng), total - sent));
      for (char& c : piece) c = static_cast<char>(rng());
      hash.Update(piece);
      if (!writer->Write(Bytes(piece)).ok()) return Digest();
      sent += piece.size();
    }
    writer->Finish();
    return hash.Finish();
  });
}

// Signals a WhenReady callback across threads.
struct Signal {
  std::mutex mu;
  std::condition_variable cv;
  bool fired = false;

  std::function<void()> Callback() {
    {
      std::lock_guard lock(mu);
      fired = false;
    }
    return [this] {
      std::lock_guard lock(mu);
      fired = true;
      cv.notify_all();
    };
  }
  bool Wait(std::chrono::seconds limit = 30s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [this] { return fired; });
  }
};

TEST(BytePipe, PeekConsumeWhenReadyDeliverTheStreamInOrder) {
  constexpr size_t kCapacity = 300000;  // not a multiple of the chunk size
  constexpr size_t kTotal = 16 << 20;
  auto [writer, reader] = BytePipe::Make(kCapacity);
  auto produced = Produce(std::move(writer), kTotal, 1);

  std::mt19937 rng(2);
  Sha256 hash;
  size_t received = 0;
  size_t waits = 0;
  size_t most_buffered = 0;
  Signal signal;
  for (;;) {
    most_buffered = std::max(most_buffered, reader->Buffered());
    auto piece = reader->Peek();
    if (!piece.empty()) {
      // Take part of what is there at times: the rest must come back next.
      const size_t n = rng() % 3 == 0 ? 1 + rng() % piece.size() : piece.size();
      hash.Update(piece.first(n));
      received += n;
      reader->Consume(n);
      continue;
    }
    ASSERT_FALSE(reader->Failed());
    if (reader->Ended()) break;
    reader->WhenReady(signal.Callback());
    ASSERT_TRUE(signal.Wait()) << "no WhenReady after " << received << " bytes";
    ++waits;
  }
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(hash.Finish(), produced.get());
  EXPECT_LE(most_buffered, kCapacity);
  EXPECT_TRUE(reader->Peek().empty());
  EXPECT_FALSE(reader->Failed());
  (void)waits;  // how often the consumer got ahead depends on scheduling
}

TEST(BytePipe, ReadDeliversTheStreamInOrder) {
  constexpr size_t kTotal = 16 << 20;
  auto [writer, reader] = BytePipe::Make();
  auto produced = Produce(std::move(writer), kTotal, 3);
  std::mt19937 rng(4);
  Sha256 hash;
  size_t received = 0;
  std::vector<char> buffer(300000);
  for (;;) {
    auto n = reader->Read(std::span<char>(buffer.data(), 1 + rng() % buffer.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    hash.Update(std::span<const char>(buffer.data(), *n));
    received += *n;
  }
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(hash.Finish(), produced.get());
  EXPECT_TRUE(reader->Ended());
}

TEST(BytePipe, WriterBlocksWhenFullAndResumesAsTheReaderConsumes) {
  constexpr size_t kCapacity = 100000;
  auto [writer, reader] = BytePipe::Make(kCapacity);
  std::string data(3 * kCapacity + 7, '\0');
  std::mt19937 rng(5);
  for (char& c : data) c = static_cast<char>(rng());
  std::atomic<bool> returned{false};
  auto write = std::async(std::launch::async, [&, w = writer.get()] {
    Status s = w->Write(Bytes(data));
    returned = true;
    return s;
  });
  ASSERT_TRUE(pier::testing::WaitUntil([&] { return reader->WriterWaiting(); }));
  EXPECT_EQ(reader->Buffered(), kCapacity);
  EXPECT_FALSE(returned.load());

  // Room for one byte lets exactly one more byte in.
  auto first = reader->Peek();
  ASSERT_FALSE(first.empty());
  std::string got(first.data(), 1);
  reader->Consume(1);
  ASSERT_TRUE(pier::testing::WaitUntil([&] { return reader->WriterWaiting() && reader->Buffered() == kCapacity; }));
  EXPECT_FALSE(returned.load());

  std::vector<char> buffer(70000);
  while (got.size() < data.size()) {
    auto n = reader->Read(buffer);
    ASSERT_TRUE(n.ok());
    ASSERT_GT(*n, 0u);
    EXPECT_LE(reader->Buffered(), kCapacity);
    got.append(buffer.data(), *n);
  }
  ASSERT_EQ(write.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(write.get().ok());
  EXPECT_TRUE(got == data);
  EXPECT_FALSE(reader->Ended());  // not finished yet
  writer->Finish();
  EXPECT_TRUE(reader->Ended());
}

TEST(BytePipe, ReaderGoneFailsABlockedWritePromptly) {
  for (bool explicit_close : {false, true}) {
    SCOPED_TRACE(explicit_close ? "CloseReader" : "reader destroyed");
    auto [writer, reader] = BytePipe::Make(64 * 1024);
    const std::string data(1 << 20, 'x');
    auto write = std::async(std::launch::async, [w = writer.get(), &data] { return w->Write(Bytes(data)); });
    ASSERT_TRUE(pier::testing::WaitUntil([&] { return reader->WriterWaiting(); }));
    EXPECT_FALSE(writer->ReaderGone());
    if (explicit_close) {
      reader->CloseReader();
      EXPECT_TRUE(reader->Peek().empty());
      char b[1];
      EXPECT_FALSE(reader->Read(b).ok());
    } else {
      reader.reset();
    }
    ASSERT_EQ(write.wait_for(10s), std::future_status::ready) << "the producer stayed blocked";
    Status s = write.get();
    EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
    EXPECT_TRUE(writer->ReaderGone());
    EXPECT_EQ(writer->Write(Bytes("more")).code(), Code::kUnavailable);
    EXPECT_EQ(writer->Write({}).code(), Code::kUnavailable);
  }
}

TEST(BytePipe, FailWinsOverHeldBytes) {
  auto [writer, reader] = BytePipe::Make();
  ASSERT_TRUE(writer->Write(Bytes("abc")).ok());
  Signal pending;
  ASSERT_EQ(std::string_view(reader->Peek().data(), reader->Peek().size()), "abc");
  reader->Consume(3);
  reader->WhenReady(pending.Callback());
  EXPECT_FALSE(pending.fired);
  ASSERT_TRUE(writer->Write(Bytes("def")).ok());
  EXPECT_TRUE(pending.Wait(0s)) << "a write runs the pending callback";

  writer->Fail(Status::Corruption("digest mismatch"));
  EXPECT_TRUE(reader->Failed());
  EXPECT_FALSE(reader->Ended());
  EXPECT_TRUE(reader->Peek().empty()) << "held bytes are not handed out after a failure";
  char buffer[8];
  auto n = reader->Read(buffer);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Code::kCorruption);
  EXPECT_EQ(reader->failure().message(), "digest mismatch");
  Signal now;
  reader->WhenReady(now.Callback());
  EXPECT_TRUE(now.Wait(0s)) << "runs at once when failed";

  EXPECT_EQ(writer->Write(Bytes("x")).code(), Code::kFailedPrecondition);
  writer->Finish();  // ignored
  EXPECT_TRUE(reader->Failed());
  EXPECT_FALSE(reader->Ended());
}

TEST(BytePipe, FailWakesAWaitingReaderAndAWaitingWriter) {
  {
    auto [writer, reader] = BytePipe::Make();
    Signal signal;
    reader->WhenReady(signal.Callback());
    std::thread t([w = writer.get()] { w->Fail("upstream reset"); });
    EXPECT_TRUE(signal.Wait());
    t.join();
    EXPECT_TRUE(reader->Failed());
    EXPECT_EQ(reader->failure().code(), Code::kUnavailable);
  }
  {
    auto [writer, reader] = BytePipe::Make();
    auto read = std::async(std::launch::async, [r = reader.get()] {
      char b[4];
      return r->Read(b).status();
    });
    writer->Fail("upstream reset");
    ASSERT_EQ(read.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(read.get().code(), Code::kUnavailable);
  }
  {
    // A producer stuck on a full pipe can be aborted from another thread.
    auto [writer, reader] = BytePipe::Make(10);
    auto write = std::async(std::launch::async, [w = writer.get()] { return w->Write(Bytes("0123456789abc")); });
    ASSERT_TRUE(pier::testing::WaitUntil([&] { return reader->WriterWaiting(); }));
    writer->Fail("cancelled");
    ASSERT_EQ(write.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(write.get().code(), Code::kFailedPrecondition);
  }
}

TEST(BytePipe, FinishEndsOnceEverythingIsConsumed) {
  auto [writer, reader] = BytePipe::Make(4);  // smaller than the bytes written over time
  Signal signal;
  reader->WhenReady(signal.Callback());
  ASSERT_TRUE(writer->Write(Bytes("hell")).ok());
  EXPECT_TRUE(signal.Wait(0s));
  writer->Finish();
  EXPECT_FALSE(reader->Ended()) << "bytes still held";
  EXPECT_FALSE(reader->Failed());
  auto piece = reader->Peek();
  EXPECT_EQ(std::string_view(piece.data(), piece.size()), "hell");
  reader->Consume(piece.size());
  EXPECT_TRUE(reader->Ended());
  EXPECT_TRUE(reader->Peek().empty());
  char b[4];
  auto n = reader->Read(b);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  writer->Fail("late");  // ignored after Finish
  EXPECT_FALSE(reader->Failed());
  EXPECT_TRUE(reader->failure().ok());
  EXPECT_EQ(writer->Write(Bytes("x")).code(), Code::kFailedPrecondition);
}

TEST(BytePipe, ZeroLengthBody) {
  auto [writer, reader] = BytePipe::Make();
  EXPECT_TRUE(writer->Write({}).ok());
  EXPECT_FALSE(reader->Ended());
  writer->Finish();
  EXPECT_TRUE(reader->Ended());
  EXPECT_TRUE(reader->Peek().empty());
  Signal signal;
  reader->WhenReady(signal.Callback());
  EXPECT_TRUE(signal.Wait(0s)) << "runs at once at the end";
  char b[1];
  auto n = reader->Read(b);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST(BytePipe, WriterDestroyedUnfinishedFailsTheReader) {
  auto [writer, reader] = BytePipe::Make();
  ASSERT_TRUE(writer->Write(Bytes("part")).ok());
  Signal signal;
  reader->Consume(reader->Peek().size());
  reader->WhenReady(signal.Callback());
  writer.reset();
  EXPECT_TRUE(signal.Wait(0s));
  EXPECT_TRUE(reader->Failed());
  EXPECT_FALSE(reader->Ended());
}

TEST(BytePipe, ReaderDestroyedDropsItsPendingCallbackUnrun) {
  auto [writer, reader] = BytePipe::Make();
  auto captured = std::make_shared<int>(0);
  std::weak_ptr<int> watch = captured;
  bool ran = false;
  reader->WhenReady([captured = std::move(captured), &ran] { ran = true; });
  EXPECT_FALSE(watch.expired());
  reader.reset();
  EXPECT_TRUE(watch.expired()) << "the callback's captures are released with the reader";
  EXPECT_EQ(writer->Write(Bytes("x")).code(), Code::kUnavailable);
  writer->Finish();
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace pier
