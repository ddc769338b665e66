#include "replication/health_checker.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/common/mem_kv.h"

namespace pier::replication {
namespace {

using namespace std::chrono_literals;

// Records SetDestinationUp; ignores the rest.
class UpObserver : public NullObserver {
 public:
  void SetDestinationUp(std::string_view destination, bool up) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      ups.emplace_back(std::string(destination), up);
    }
    cv.notify_all();
  }
  // Waits (on a condition, bounded) until at least one report came.
  bool WaitForReport() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, 30s, [this] { return !ups.empty(); });
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, bool>> ups;
};

class HealthCheckerTest : public ::testing::Test {
 protected:
  HealthCheckerTest()
      : endpoints_(std::make_shared<testing::MemKv>()),
        repl_(endpoints_, std::make_shared<testing::MemKv>()),
        checker_(
            repl_,
            [this](const Endpoint& e) {
              pings_.push_back(e.name);
              return down_.count(e.url) ? Status::IOError("connection refused") : Status::OK();
            },
            observer_, clock_, HealthOptions{300s, 30s}) {}

  int64_t Add(const std::string& name, const std::string& url) {
    Endpoint e;
    e.name = name;
    e.url = url;
    e.type = std::string(kTypeDockerRegistry);
    auto stored = repl_.CreateEndpoint(e);  // status "unknown", as a config-seeded endpoint
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    return stored->id;
  }
  std::string StatusOf(int64_t id) {
    auto e = repl_.GetEndpoint(id);
    EXPECT_TRUE(e.ok());
    return e->status;
  }
  // Pings made by one CheckDue, in order.
  std::vector<std::string> Check() {
    pings_.clear();
    next_ = checker_.CheckDue();
    return pings_;
  }

  FakeClock clock_;
  std::shared_ptr<testing::MemKv> endpoints_;
  ReplicationStore repl_;
  UpObserver observer_;
  std::set<std::string> down_;
  std::vector<std::string> pings_;
  HealthChecker checker_;
  std::chrono::steady_clock::time_point next_;
};

using Names = std::vector<std::string>;

TEST_F(HealthCheckerTest, UnknownEndpointsAreCheckedAtOnceThenEveryInterval) {
  int64_t a = Add("a", "http://a:5000");
  int64_t b = Add("b", "http://b:5000");
  EXPECT_EQ(StatusOf(a), "unknown");
  EXPECT_EQ(Check(), (Names{"a", "b"}));
  EXPECT_EQ(StatusOf(a), "healthy");
  EXPECT_EQ(StatusOf(b), "healthy");
  EXPECT_EQ(next_, clock_.Steady() + 300s);

  clock_.Advance(299s);
  EXPECT_EQ(Check(), Names{});
  EXPECT_EQ(next_, clock_.Steady() + 1s);
  clock_.Advance(1s);
  EXPECT_EQ(Check(), (Names{"a", "b"}));
}

TEST_F(HealthCheckerTest, FailingEndpointIsRecheckedSoonerAndRecovers) {
  int64_t a = Add("a", "http://a:5000");
  int64_t b = Add("b", "http://b:5000");
  down_.insert("http://b:5000");
  Check();
  EXPECT_EQ(StatusOf(a), "healthy");
  EXPECT_EQ(StatusOf(b), "unhealthy");
  EXPECT_EQ(next_, clock_.Steady() + 30s);

  clock_.Advance(30s);
  EXPECT_EQ(Check(), Names{"b"});  // a waits its 5 minutes
  EXPECT_EQ(StatusOf(b), "unhealthy");

  down_.clear();
  clock_.Advance(30s);
  EXPECT_EQ(Check(), Names{"b"});
  EXPECT_EQ(StatusOf(b), "healthy");
  EXPECT_EQ(next_, clock_.Steady() + 240s);  // a is next, 5 minutes after its first check
}

TEST_F(HealthCheckerTest, ReportsDestinationUpOnEveryCheck) {
  Add("a", "http://a:5000");
  down_.insert("http://a:5000");
  Check();
  clock_.Advance(30s);
  down_.clear();
  Check();
  std::vector<std::pair<std::string, bool>> want = {{"a", false}, {"a", true}};
  EXPECT_EQ(observer_.ups, want);
}

TEST_F(HealthCheckerTest, WritesOnlyWhenTheStatusChanges) {
  Add("a", "http://a:5000");
  Check();
  int writes = endpoints_->writes;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(300s);
    Check();
  }
  EXPECT_EQ(endpoints_->writes, writes);
}

TEST_F(HealthCheckerTest, NewAndMovedEndpointsAreCheckedAtTheNextPass) {
  int64_t a = Add("a", "http://a:5000");
  Check();
  Add("b", "http://b:5000");
  EXPECT_EQ(Check(), Names{"b"});

  // A new URL is another registry: checked at once, its old answer void.
  auto e = repl_.GetEndpoint(a);
  ASSERT_TRUE(e.ok());
  e->url = "http://a2:5000";
  ASSERT_TRUE(repl_.UpdateEndpoint(*e).ok());
  down_.insert("http://a2:5000");
  EXPECT_EQ(Check(), Names{"a"});
  EXPECT_EQ(StatusOf(a), "unhealthy");

  // Deleted endpoints are forgotten.
  ASSERT_TRUE(repl_.DeleteEndpoint(a).ok());
  clock_.Advance(300s);
  EXPECT_EQ(Check(), Names{"b"});
}

TEST_F(HealthCheckerTest, StatusIsNotRecordedOnAUrlThatChangedDuringThePing) {
  int64_t a = Add("a", "http://a:5000");
  ASSERT_TRUE(repl_.SetEndpointStatus(a, "http://a:5000", "healthy").ok());
  ASSERT_TRUE(repl_.SetEndpointStatus(a, "http://elsewhere:5000", "unhealthy").ok());
  EXPECT_EQ(StatusOf(a), "healthy");
  EXPECT_EQ(repl_.SetEndpointStatus(999, "http://a:5000", "healthy").code(), Code::kNotFound);
}

TEST_F(HealthCheckerTest, ThreadChecksAtStartAndStops) {
  Add("a", "http://a:5000");
  checker_.Start();
  EXPECT_TRUE(observer_.WaitForReport());  // the first pass runs at once
  checker_.Stop();
  std::lock_guard<std::mutex> lock(observer_.mu);
  ASSERT_FALSE(observer_.ups.empty());
  EXPECT_EQ(observer_.ups[0], (std::pair<std::string, bool>{"a", true}));
}

}  // namespace
}  // namespace pier::replication
