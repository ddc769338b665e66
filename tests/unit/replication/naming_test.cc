#include "replication/naming.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

struct NamingCase {
  std::string src;
  std::string ns;
  int count;
  std::string want;  // "" = error
};

TEST(DestinationRepository, HarborTable) {
  const NamingCase cases[] = {
      {"a/b/c", "n", -1, "n/c"},
      {"a/b/c", "n", 0, "n/a/b/c"},
      {"a/b/c", "n", 1, "n/b/c"},
      {"a/b/c", "n", 2, "n/c"},
      {"a/b/c", "n", 3, ""},
      {"a/b/c", "n", 4, ""},
      {"c", "n", -1, "n/c"},
      {"c", "n", 0, "n/c"},
      {"c", "n", 1, ""},
      {"c", "n", 2, ""},
      {"a/b/c", "", -1, "a/b/c"},
      {"a/b/c", "", 0, "a/b/c"},
      {"a/b/c", "", 3, "a/b/c"},
      {"c", "", 1, "c"},
      {"a/b/c", "n/m", -1, "n/m/c"},
      {"a/b/c", "n", -2, ""},
  };
  for (const auto& c : cases) {
    auto r = DestinationRepository(c.src, c.ns, c.count);
    if (c.want.empty()) {
      ASSERT_FALSE(r.ok()) << c.src << " " << c.ns << " " << c.count;
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_EQ(r.status().message().rfind("dest_namespace_replace_count: ", 0), 0u) << r.status().message();
    } else {
      ASSERT_TRUE(r.ok()) << c.src << " " << c.ns << " " << c.count << ": " << r.status().ToString();
      EXPECT_EQ(*r, c.want) << c.src << " " << c.ns << " " << c.count;
    }
  }
}

TEST(CheckAcrName, ExactlyTwoLevels) {
  EXPECT_TRUE(CheckAcrName("lgy-images/app").ok());
  for (const char* bad : {"app", "a/b/c", "n/a/b/c", "/app", "ns/", ""}) {
    auto s = CheckAcrName(bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("namespace/repo"), std::string::npos) << s.message();
  }
  EXPECT_NE(CheckAcrName("a/b/c").message().find("has 3 level"), std::string::npos);
}

TEST(RepositoryLevels, Counts) {
  EXPECT_EQ(RepositoryLevels("c"), 1);
  EXPECT_EQ(RepositoryLevels("a/b/c"), 3);
}

}  // namespace
}  // namespace pier::replication
