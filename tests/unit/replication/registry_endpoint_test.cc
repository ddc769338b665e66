#include "replication/registry_endpoint.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

using nlohmann::json;

json CreateBody() {
  return json::parse(R"({"name":"acr","type":"ali-acr","url":"https://registry.cn-hangzhou.aliyuncs.com/",
    "description":"hangzhou","credential":{"type":"basic","access_key":"user","access_secret":"s3cret"},
    "insecure":false})");
}

void ExpectInvalid(const Result<Endpoint>& r, const std::string& prefix) {
  ASSERT_FALSE(r.ok()) << "expected failure starting with " << prefix;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
}

TEST(ParseEndpointCreate, HarborBody) {
  auto r = ParseEndpointCreate(CreateBody());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "acr");
  EXPECT_EQ(r->type, "ali-acr");
  EXPECT_EQ(r->url, "https://registry.cn-hangzhou.aliyuncs.com");  // trailing '/' dropped
  EXPECT_EQ(r->credential.type, "basic");
  EXPECT_EQ(r->credential.access_key, "user");
  EXPECT_EQ(r->credential.access_secret, "s3cret");
  EXPECT_EQ(r->description, "hangzhou");
}

TEST(ParseEndpointCreate, AcceptsUrlShapes) {
  for (const char* url :
       {"http://pier.svc:5000", "https://10.0.0.1:443", "http://[::1]:5000", "HTTPS://Example.com"}) {
    auto body = CreateBody();
    body["url"] = url;
    EXPECT_TRUE(ParseEndpointCreate(body).ok()) << url;
  }
  auto body = CreateBody();
  body.erase("credential");
  auto r = ParseEndpointCreate(body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->credential.type, "basic");
  EXPECT_TRUE(r->credential.access_secret.empty());
}

TEST(ParseEndpointCreate, RefusesNamingTheField) {
  auto with = [](const char* key, json v) {
    auto b = CreateBody();
    if (v.is_discarded()) {
      b.erase(key);
    } else {
      b[key] = std::move(v);
    }
    return b;
  };
  json gone(json::value_t::discarded);
  ExpectInvalid(ParseEndpointCreate(with("name", gone)), "name: required");
  ExpectInvalid(ParseEndpointCreate(with("name", "")), "name: required");
  ExpectInvalid(ParseEndpointCreate(with("name", 5)), "name: must be a string");
  ExpectInvalid(ParseEndpointCreate(with("url", gone)), "url: required");
  for (const char* bad :
       {"registry.example.com", "ftp://x", "https://", "https://host:", "https://host:99999",
        "https://host/path", "https://user@host", "https://host:5000/v2/", "https://ho st"}) {
    ExpectInvalid(ParseEndpointCreate(with("url", bad)), "url: must be http(s)://host[:port]");
  }
  ExpectInvalid(ParseEndpointCreate(with("type", gone)), "type: required");
  auto r = ParseEndpointCreate(with("type", "quay"));
  ExpectInvalid(r, "type: \"quay\" is a Harbor endpoint type that Pier does not support");
  EXPECT_NE(r.status().message().find("ali-acr, docker-registry, harbor"), std::string::npos);
  ExpectInvalid(ParseEndpointCreate(with("type", "nexus")), "type: unknown endpoint type");
  ExpectInvalid(ParseEndpointCreate(with("insecure", "yes")), "insecure: must be true or false");
  ExpectInvalid(ParseEndpointCreate(with("credential", "user:pw")), "credential: must be an object");
  ExpectInvalid(ParseEndpointCreate(with("credential", json{{"type", "token"}})), "credential.type: must be");
  ExpectInvalid(ParseEndpointCreate(with("ca_certificate", "not a pem")), "ca_certificate: must be a PEM");
  ExpectInvalid(ParseEndpointCreate(json::array()), "body: must be a JSON object");
}

TEST(EndpointToJson, MasksSecrets) {
  auto r = ParseEndpointCreate(CreateBody());
  ASSERT_TRUE(r.ok());
  r->id = 3;
  auto j = EndpointToJson(*r);
  EXPECT_EQ(j["id"], 3);
  EXPECT_EQ(j["credential"]["access_secret"], "*****");
  EXPECT_EQ(j["credential"]["access_key"], "user");
  EXPECT_EQ(j["credential"]["type"], "basic");
  EXPECT_EQ(j.dump().find("s3cret"), std::string::npos);
  for (const char* key : {"name", "url", "type", "insecure", "ca_certificate", "description", "status",
                          "creation_time", "update_time"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  r->credential.access_secret.clear();
  EXPECT_EQ(EndpointToJson(*r)["credential"]["access_secret"], "");
}

TEST(ApplyEndpointUpdate, UrlChangeWithoutSecretClearsIt) {
  auto e = ParseEndpointCreate(CreateBody());
  ASSERT_TRUE(e.ok());
  auto u = ApplyEndpointUpdate(*e, json{{"url", "https://registry.cn-shanghai.aliyuncs.com"}});
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->url, "https://registry.cn-shanghai.aliyuncs.com");
  EXPECT_TRUE(u->credential.access_secret.empty());
  EXPECT_EQ(u->credential.access_key, "user");

  // The mask a GET returned counts as "not given".
  u = ApplyEndpointUpdate(*e, json{{"url", "https://other.example"}, {"access_secret", "*****"}});
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->credential.access_secret.empty());

  u = ApplyEndpointUpdate(*e, json{{"url", "https://other.example"}, {"access_secret", "new"}});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->credential.access_secret, "new");
}

TEST(ApplyEndpointUpdate, KeepsSecretWhenUrlUnchanged) {
  auto e = ParseEndpointCreate(CreateBody());
  ASSERT_TRUE(e.ok());
  e->id = 7;
  auto u = ApplyEndpointUpdate(*e, json::parse(R"({"name":"acr2","description":"d","insecure":true,
      "url":"https://registry.cn-hangzhou.aliyuncs.com","access_key":"other","access_secret":"*****",
      "credential_type":"basic"})"));
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->id, 7);
  EXPECT_EQ(u->name, "acr2");
  EXPECT_TRUE(u->insecure);
  EXPECT_EQ(u->credential.access_key, "other");
  EXPECT_EQ(u->credential.access_secret, "s3cret");
  EXPECT_EQ(u->type, "ali-acr");
}

TEST(ApplyEndpointUpdate, Refusals) {
  auto e = ParseEndpointCreate(CreateBody());
  ASSERT_TRUE(e.ok());
  ExpectInvalid(ApplyEndpointUpdate(*e, json{{"url", "nope"}}), "url: must be");
  ExpectInvalid(ApplyEndpointUpdate(*e, json{{"name", ""}}), "name: must not be empty");
  ExpectInvalid(ApplyEndpointUpdate(*e, json{{"credential_type", "kerberos"}}), "credential_type: must be");
  ExpectInvalid(ApplyEndpointUpdate(*e, json{{"insecure", 1}}), "insecure: must be true or false");
}

TEST(EndpointInfo, HarborShape) {
  Endpoint e;
  e.type = "docker-registry";
  auto info = EndpointInfo(e);
  EXPECT_EQ(info["supported_resource_filters"],
            json::parse(R"([{"type":"name","style":"input"},{"type":"tag","style":"input"},
                            {"type":"label","style":"input"}])"));
  EXPECT_EQ(info["supported_triggers"], json::parse(R"(["manual","scheduled","event_based"])"));
  EXPECT_EQ(info["supported_copy_by_chunk"], true);
  e.type = "harbor";  // same filters: Pier's label filter reads image configs, whatever the type
  EXPECT_EQ(EndpointInfo(e)["supported_resource_filters"], info["supported_resource_filters"]);
  EXPECT_FALSE(info["supported_resource_filters"][2].contains("values"));
}

TEST(EndpointTypes, Lists) {
  EXPECT_EQ(SupportedEndpointTypes(), (std::vector<std::string>{"ali-acr", "docker-registry", "harbor"}));
  EXPECT_EQ(HarborEndpointTypes().size(), 15u);
}

}  // namespace
}  // namespace pier::replication
