#include "base/json_fields.h"

#include <gtest/gtest.h>

namespace pier {
namespace {

using json = nlohmann::json;

TEST(JsonFields, Paths) {
  EXPECT_EQ(FieldPath("", "name"), "name");
  EXPECT_EQ(FieldPath("trigger", "type"), "trigger.type");
  EXPECT_EQ(IndexPath("replication.policies", 2), "replication.policies[2]");
  EXPECT_EQ(FieldError("a.b", "must be x").message(), "a.b: must be x");
}

TEST(JsonFields, AbsentAndNullLeaveTheValue) {
  json j = {{"n", nullptr}};
  std::string s = "keep";
  bool b = true;
  int64_t i = 7;
  EXPECT_TRUE(ReadString(j, "", "missing", &s).ok());
  EXPECT_TRUE(ReadString(j, "", "n", &s).ok());
  EXPECT_TRUE(ReadBool(j, "", "n", &b).ok());
  EXPECT_TRUE(ReadInt(j, "", "n", 0, 10, &i).ok());
  EXPECT_EQ(s, "keep");
  EXPECT_TRUE(b);
  EXPECT_EQ(i, 7);
  EXPECT_FALSE(HasField(j, "n"));
  EXPECT_FALSE(HasField(j, "missing"));
  EXPECT_FALSE(HasField(json::array(), "n"));
}

TEST(JsonFields, WrongTypesNameTheFieldPath) {
  json j = json::parse(R"({"s": 1, "b": "yes", "i": 1.5, "u": "3", "big": 18446744073709551615})");
  std::string s;
  bool b = false;
  int64_t i = 0;
  EXPECT_EQ(ReadString(j, "auth.token", "s", &s).message(), "auth.token.s: must be a string");
  EXPECT_EQ(ReadBool(j, "", "b", &b).message(), "b: must be true or false");
  EXPECT_EQ(ReadInt(j, "x", "i", 0, 9, &i).message(), "x.i: must be an integer in [0, 9]");
  EXPECT_FALSE(ReadInt(j, "x", "u", 0, 9, &i).ok());
  EXPECT_FALSE(ReadInt(j, "x", "big", 0, INT64_MAX, &i).ok());
  EXPECT_EQ(i, 0);
}

TEST(JsonFields, IntegersAreRangeChecked) {
  json j = {{"a", -1}, {"b", 5}, {"c", 70000}};
  int64_t v = 0;
  EXPECT_TRUE(ReadInt(j, "", "a", -1, 127, &v).ok());
  EXPECT_EQ(v, -1);
  EXPECT_FALSE(ReadInt(j, "", "b", -1, 4, &v).ok());
  int narrow = 0;
  EXPECT_TRUE(ReadNonNegative(j, "", "b", &narrow).ok());
  EXPECT_EQ(narrow, 5);
  EXPECT_EQ(ReadNonNegative(j, "http", "a", &narrow).message(),
            "http.a: must be an integer in [0, 2147483647]");
  uint16_t small = 0;
  EXPECT_FALSE(ReadNonNegative(j, "", "c", &small).ok());
  uint32_t u = 0;
  EXPECT_TRUE(ReadNonNegative(j, "", "c", &u).ok());
  EXPECT_EQ(u, 70000u);
  uint64_t wide = 0;
  EXPECT_TRUE(ReadNonNegative(j, "", "c", &wide).ok());
}

TEST(JsonFields, CheckKeysNamesTheUnknownKey) {
  EXPECT_TRUE(CheckKeys(json{{"a", 1}}, "x", {"a", "b"}).ok());
  EXPECT_EQ(CheckKeys(json{{"a", 1}, {"c", 2}}, "x", {"a", "b"}).message(), "x.c: unknown key");
  EXPECT_EQ(CheckKeys(json{{"c", 2}}, "", {"a"}).message(), "c: unknown key");
  EXPECT_EQ(CheckKeys(json::array(), "x.y", {"a"}).message(), "x.y: must be an object");
}

}  // namespace
}  // namespace pier
