#include "replication/state_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "cache/store.h"

namespace pier::replication {
namespace {

using nlohmann::json;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pier-repl-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    repl_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Reopen() {
    repl_.reset();
    store_.reset();
    Store::Options o;
    o.root = dir_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    auto r = ReplicationStore::Open(*store_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repl_ = std::move(*r);
  }

  static Endpoint MakeEndpoint(const std::string& name) {
    Endpoint e;
    e.name = name;
    e.url = "http://127.0.0.1:5000";
    e.type = std::string(kTypeDockerRegistry);
    e.credential.access_key = "user";
    e.credential.access_secret = "s3cret";
    e.status = "healthy";
    return e;
  }
  static Policy MakePolicy(const std::string& name, int64_t dest) {
    json body = json::parse(R"({"src_registry":null,"dest_namespace":"lgy-images",
      "trigger":{"type":"scheduled","trigger_settings":{"cron":"0 30 2 * * *"}},
      "filters":[{"type":"name","value":"team/**"},{"type":"tag","value":"v*","decoration":"matches"}],
      "deletion":true,"override":false,"speed":100,"copy_by_chunk":true})");
    body["name"] = name;
    body["dest_registry"] = {{"id", dest}};
    auto p = ParsePolicy(body);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return *p;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReplicationStore> repl_;
};

TEST_F(StateStoreTest, EndpointCrud) {
  auto a = repl_->CreateEndpoint(MakeEndpoint("a"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->id, 1);
  auto b = repl_->CreateEndpoint(MakeEndpoint("b"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->id, 2);

  auto got = repl_->GetEndpoint(1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "a");
  EXPECT_EQ(got->credential.access_secret, "s3cret");  // kept internally
  EXPECT_EQ(got->status, "healthy");
  EXPECT_NE(got->creation_time.time_since_epoch().count(), 0);

  Endpoint upd = *got;
  upd.description = "changed";
  ASSERT_TRUE(repl_->UpdateEndpoint(upd).ok());
  EXPECT_EQ(repl_->GetEndpoint(1)->description, "changed");

  auto list = repl_->ListEndpoints();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 1);
  EXPECT_EQ((*list)[1].id, 2);

  ASSERT_TRUE(repl_->DeleteEndpoint(2).ok());
  EXPECT_EQ(repl_->GetEndpoint(2).status().code(), Code::kNotFound);
  EXPECT_EQ(repl_->DeleteEndpoint(2).code(), Code::kNotFound);
  // Ids are never reused.
  EXPECT_EQ(repl_->CreateEndpoint(MakeEndpoint("c"))->id, 3);
}

TEST_F(StateStoreTest, UniqueNames) {
  ASSERT_TRUE(repl_->CreateEndpoint(MakeEndpoint("a")).ok());
  ASSERT_TRUE(repl_->CreateEndpoint(MakeEndpoint("b")).ok());
  EXPECT_EQ(repl_->CreateEndpoint(MakeEndpoint("a")).status().code(), Code::kAlreadyExists);
  Endpoint b = *repl_->GetEndpoint(2);
  b.name = "a";
  EXPECT_EQ(repl_->UpdateEndpoint(b).status().code(), Code::kAlreadyExists);
  b.name = "b";  // its own name is fine
  EXPECT_TRUE(repl_->UpdateEndpoint(b).ok());

  ASSERT_TRUE(repl_->CreatePolicy(MakePolicy("p", 1)).ok());
  EXPECT_EQ(repl_->CreatePolicy(MakePolicy("p", 2)).status().code(), Code::kAlreadyExists);
}

TEST_F(StateStoreTest, PolicyCrudAndEndpointInUse) {
  ASSERT_TRUE(repl_->CreateEndpoint(MakeEndpoint("a")).ok());
  auto p = repl_->CreatePolicy(MakePolicy("p", 1));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->id, 1);
  auto got = repl_->GetPolicy(1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(PolicyToJson(*got), PolicyToJson(*p));
  EXPECT_TRUE(got->replicate_deletion);
  EXPECT_EQ(got->trigger.cron, "0 30 2 * * *");
  ASSERT_EQ(got->filters.size(), 2u);

  EXPECT_EQ(repl_->DeleteEndpoint(1).code(), Code::kFailedPrecondition);
  Policy upd = *got;
  upd.enabled = false;
  ASSERT_TRUE(repl_->UpdatePolicy(upd).ok());
  EXPECT_FALSE(repl_->GetPolicy(1)->enabled);
  upd.id = 9;
  EXPECT_EQ(repl_->UpdatePolicy(upd).status().code(), Code::kNotFound);
  ASSERT_TRUE(repl_->DeletePolicy(1).ok());
  EXPECT_EQ(repl_->GetPolicy(1).status().code(), Code::kNotFound);
  EXPECT_TRUE(repl_->DeleteEndpoint(1).ok());
}

TEST_F(StateStoreTest, SurvivesReopen) {
  ASSERT_TRUE(repl_->CreateEndpoint(MakeEndpoint("a")).ok());
  ASSERT_TRUE(repl_->CreateEndpoint(MakeEndpoint("b")).ok());
  ASSERT_TRUE(repl_->DeleteEndpoint(2).ok());
  auto p = repl_->CreatePolicy(MakePolicy("p", 1));
  ASSERT_TRUE(p.ok());
  Policy before = *p;

  Reopen();
  auto list = repl_->ListEndpoints();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[0].credential.access_secret, "s3cret");
  auto after = repl_->GetPolicy(1);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(PolicyToJson(*after), PolicyToJson(before));
  // The counter survived too: the deleted id 2 is not handed out again.
  EXPECT_EQ(repl_->CreateEndpoint(MakeEndpoint("c"))->id, 3);
  EXPECT_EQ(repl_->CreatePolicy(MakePolicy("q", 1))->id, 2);

  // The store's own data is still usable, and Fsck copes with the extra CFs.
  repl_.reset();
  store_.reset();
  auto report = Fsck(dir_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->problems.empty());
  Reopen();
  EXPECT_EQ(repl_->ListEndpoints()->size(), 2u);
}

// Policies are stored as PolicyToJson and read back with ParsePolicy, so
// Pier's compression extension round-trips through a reopen.
TEST_F(StateStoreTest, PolicyCompressionSurvivesReopen) {
  Policy with = MakePolicy("zstd", 1);
  with.compression = Compression{"zstd", 12};
  ASSERT_TRUE(repl_->CreatePolicy(with).ok());
  ASSERT_TRUE(repl_->CreatePolicy(MakePolicy("plain", 1)).ok());

  Reopen();
  auto got = repl_->GetPolicy(1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->compression, (Compression{"zstd", 12}));
  auto plain = repl_->GetPolicy(2);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->compression, Compression{});

  // An update that turns it off is stored too.
  Policy off = *got;
  off.compression = Compression{};
  ASSERT_TRUE(repl_->UpdatePolicy(off).ok());
  Reopen();
  EXPECT_EQ(repl_->GetPolicy(1)->compression, Compression{});
}

TEST_F(StateStoreTest, ReservedSpaceRefused) {
  EXPECT_EQ(store_->OpenKeySpace("blobs").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->OpenKeySpace("default").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pier::replication
