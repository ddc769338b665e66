// proxy.upstreams parsing and how request names reach an upstream.
#include "cache/proxy/upstream.h"

#include <gtest/gtest.h>

#include "tests/unit/common/temp_dir.h"

namespace pier::proxy {
namespace {

using nlohmann::json;

Result<std::vector<Upstream>> Parse(const std::string& text) {
  return ParseUpstreams(json::parse(text), "proxy.upstreams");
}

TEST(UpstreamParse, FullEntryAndDefaults) {
  testing::TempDir dir;
  std::string pw = (dir.path() / "pw").string();
  std::ofstream(pw) << "s3cret\n";
  auto ups = Parse(R"([{"name": "hub", "url": "https://registry-1.docker.io", "ns": ["docker.io"],
                        "username": "bot", "password_file": ")" + pw + R"(", "tag_ttl_seconds": 120},
                      {"name": "ghcr", "url": "https://ghcr.io", "prefix": "mirror/ghcr"}])");
  ASSERT_TRUE(ups.ok()) << ups.status().ToString();
  ASSERT_EQ(ups->size(), 2u);
  const Upstream& hub = (*ups)[0];
  EXPECT_EQ(hub.prefix, "hub");  // defaults to the name
  EXPECT_EQ(hub.password, "s3cret");  // one trailing newline dropped
  EXPECT_EQ(hub.tag_ttl_seconds, 120);
  EXPECT_EQ(hub.offline_period_seconds, 30);
  EXPECT_TRUE(hub.docker_hub);
  EXPECT_FALSE((*ups)[1].docker_hub);
  EXPECT_EQ((*ups)[1].prefix, "mirror/ghcr");
}

TEST(UpstreamParse, RefusesWithTheFieldNamed) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"([{"url": "https://a"}])", "proxy.upstreams[0].name"},
      {R"([{"name": "a"}])", "proxy.upstreams[0].url"},
      {R"([{"name": "a", "url": "ftp://a"}])", "proxy.upstreams[0].url"},
      {R"([{"name": "Hub", "url": "https://a"}])", "proxy.upstreams[0].name"},
      {R"([{"name": "a", "url": "https://a", "prefix": "Bad/Prefix"}])", "proxy.upstreams[0].prefix"},
      {R"([{"name": "a", "url": "https://a", "colour": 1}])", "proxy.upstreams[0].colour"},
      {R"([{"name": "a", "url": "https://a", "ns": "docker.io"}])", "proxy.upstreams[0].ns"},
      {R"([{"name": "a", "url": "https://a", "ns": ["https://docker.io"]}])", "proxy.upstreams[0].ns[0]"},
      {R"([{"name": "a", "url": "https://a", "tag_ttl_seconds": -1}])", "proxy.upstreams[0].tag_ttl_seconds"},
      {R"([{"name": "a", "url": "https://a", "password_file": "/nonexistent/pier"}])",
       "proxy.upstreams[0].password_file"},
      {R"([{"name": "a", "url": "https://a"}, {"name": "a", "url": "https://b"}])", "proxy.upstreams[1].name"},
      {R"([{"name": "a", "url": "https://a", "ns": ["x.io"]}, {"name": "b", "url": "https://b", "ns": ["x.io"]}])",
       "proxy.upstreams[1].ns"},
      {R"([{"name": "a", "url": "https://a", "prefix": "m"}, {"name": "b", "url": "https://b", "prefix": "m/b"}])",
       "proxy.upstreams[1].prefix"},
      {R"({"name": "a"})", "proxy.upstreams"},
  };
  for (const Case& c : cases) {
    auto ups = Parse(c.json);
    ASSERT_FALSE(ups.ok()) << c.json;
    EXPECT_EQ(ups.status().code(), Code::kInvalidArgument) << c.json;
    EXPECT_NE(ups.status().message().find(c.field), std::string::npos)
        << c.json << " -> " << ups.status().message();
  }
}

std::vector<Upstream> Two() {
  auto ups = Parse(R"([{"name": "hub", "url": "https://registry-1.docker.io", "ns": ["docker.io"]},
                       {"name": "acr", "url": "https://registry.cn-hangzhou.aliyuncs.com", "prefix": "mirror/acr",
                        "ns": ["registry.cn-hangzhou.aliyuncs.com"]}])");
  EXPECT_TRUE(ups.ok());
  return *ups;
}

TEST(UpstreamResolve, PrefixStyle) {
  auto ups = Two();
  auto t = Resolve(ups, "hub/library/nginx", std::nullopt);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->upstream, 0u);
  EXPECT_EQ(t->upstream_repo, "library/nginx");
  EXPECT_EQ(t->local_repo, "hub/library/nginx");
  // Docker Hub's rule: one component gets library/.
  t = Resolve(ups, "hub/nginx", std::nullopt);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->upstream_repo, "library/nginx");
  EXPECT_EQ(t->local_repo, "hub/library/nginx");
  // Not for other registries.
  t = Resolve(ups, "mirror/acr/team/app", std::nullopt);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->upstream, 1u);
  EXPECT_EQ(t->upstream_repo, "team/app");
  EXPECT_EQ(t->local_repo, "mirror/acr/team/app");
  // The prefix alone, or a name that only starts with its letters, is hosted.
  EXPECT_FALSE(Resolve(ups, "hub", std::nullopt));
  EXPECT_FALSE(Resolve(ups, "hubble/app", std::nullopt));
  EXPECT_FALSE(Resolve(ups, "mirror/acrx/app", std::nullopt));
}

TEST(UpstreamResolve, NsStyleSharesTheCacheWithPrefixStyle) {
  auto ups = Two();
  auto t = Resolve(ups, "library/nginx", std::string_view("docker.io"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->local_repo, "hub/library/nginx");
  t = Resolve(ups, "nginx", std::string_view("DOCKER.IO"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->local_repo, "hub/library/nginx");
  t = Resolve(ups, "team/app", std::string_view("registry.cn-hangzhou.aliyuncs.com"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->local_repo, "mirror/acr/team/app");
  // Unknown ns, or none: hosted.
  EXPECT_FALSE(Resolve(ups, "library/nginx", std::string_view("quay.io")));
  EXPECT_FALSE(Resolve(ups, "library/nginx", std::nullopt));
  EXPECT_FALSE(Resolve(ups, "library/nginx", std::string_view("")));
  // A prefix wins over ns.
  t = Resolve(ups, "hub/library/nginx", std::string_view("registry.cn-hangzhou.aliyuncs.com"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->upstream, 0u);
}

TEST(UpstreamResolve, LocalNameTooLongIsHosted) {
  auto ups = Two();
  std::string long_name(250, 'a');
  EXPECT_FALSE(Resolve(ups, long_name, std::string_view("docker.io")));
}

}  // namespace
}  // namespace pier::proxy
