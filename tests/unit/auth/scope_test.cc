// Docker token scopes: the grammar, names with '/' and host:port forms, bad input.
#include "adapter/auth/scope.h"

#include <gtest/gtest.h>

#include "adapter/auth/auth.h"

namespace pier::auth {
namespace {

using Actions = std::vector<std::string>;

TEST(Scope, Parses) {
  auto s = ParseScope("repository:team/app:pull,push");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->type, "repository");
  EXPECT_EQ(s->name, "team/app");
  EXPECT_EQ(s->actions, (Actions{"pull", "push"}));
  EXPECT_EQ(s->ToString(), "repository:team/app:pull,push");

  auto deep = ParseScope("repository:a/b/c.d/e_f:push,pull,push");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->name, "a/b/c.d/e_f");
  EXPECT_EQ(deep->actions, (Actions{"push", "pull"})) << "duplicates dropped, order kept";

  auto catalog = ParseScope("registry:catalog:*");
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog->type, "registry");
  EXPECT_EQ(catalog->name, "catalog");
  EXPECT_EQ(catalog->actions, Actions{"*"});

  auto cls = ParseScope("repository(plugin):team/app:pull");
  ASSERT_TRUE(cls.ok()) << cls.status().ToString();
  EXPECT_EQ(cls->type, "repository");

  // Unknown actions parse (they are simply not granted later).
  auto odd = ParseScope("repository:app:pull,fly");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->actions, (Actions{"pull", "fly"}));
}

TEST(Scope, NamesWithHostAndPort) {
  auto s = ParseScope("repository:localhost:5000/team/app:pull");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "localhost:5000/team/app");
  EXPECT_EQ(s->actions, Actions{"pull"});
  auto host = ParseScope("repository:registry.example.com/app:push");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->name, "registry.example.com/app");
  auto ip = ParseScope("repository:10.0.0.1:443/a/b:pull,push");
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->name, "10.0.0.1:443/a/b");
}

TEST(Scope, BadOnesNameTheScope) {
  for (std::string bad :
       {"", "repository", "repository:app", "repository::pull", ":app:pull",
        "repository:app:", "repository:App:pull", "repository:app:pull,,push", "repository:app:PULL",
        "Repository:app:pull", "repository:app:pull,", "repository:localhost:abc/app:pull",
        "repository:localhost:5000:pull", "repository:a//b:pull", "repository:../x:pull",
        "repository(:app:pull", "repository(Plugin):app:pull", "repo sitory:app:pull"}) {
    auto s = ParseScope(bad);
    ASSERT_FALSE(s.ok()) << "accepted: " << bad;
    EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
    EXPECT_NE(s.status().message().find("scope \"" + bad.substr(0, 10)), std::string::npos)
        << s.status().message();
  }
  EXPECT_FALSE(ParseScope("repository:" + std::string(2000, 'a') + ":pull").ok());
}

TEST(Scope, SpaceSeparatedList) {
  auto list = ParseScopes("repository:a:pull  registry:catalog:* repository:b/c:push");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[1].name, "catalog");
  EXPECT_EQ((*list)[2].name, "b/c");
  auto empty = ParseScopes("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(ParseScopes("repository:a:pull repository:b").ok());
}

TEST(Scope, GrantsCover) {
  std::vector<Scope> grants = {{"repository", "team/app", {"pull", "push"}},
                               {"repository", "team/all", {"*"}},
                               {"registry", "catalog", {"*"}}};
  EXPECT_TRUE(GrantsCover(grants, "team/app", kPull));
  EXPECT_TRUE(GrantsCover(grants, "team/app", kPull | kPush));
  EXPECT_FALSE(GrantsCover(grants, "team/app", kDelete));
  EXPECT_FALSE(GrantsCover(grants, "team/app2", kPull));
  EXPECT_FALSE(GrantsCover(grants, "team", kPull));
  EXPECT_TRUE(GrantsCover(grants, "team/all", kPull | kPush | kDelete));
  EXPECT_FALSE(GrantsCover(grants, "catalog", kPull)) << "a registry grant is not a repository grant";
  EXPECT_TRUE(GrantsCatalog(grants));
  EXPECT_FALSE(GrantsCatalog({{"registry", "catalog", {"pull"}}}));
  EXPECT_FALSE(GrantsCatalog({{"repository", "catalog", {"*"}}}));
}

}  // namespace
}  // namespace pier::auth
