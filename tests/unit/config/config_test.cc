#include "cmd/pier/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace pier {
namespace {

TEST(Config, FullExample) {
  Config c;
  Status s = ParseConfig(R"({"listen":"127.0.0.1:6000","data":"/tmp/x","public_url":"https://h/p",
    "tls":{"cert":"c.pem","key":"k.pem"},
    "auth":{"htpasswd":"/etc/h","realm":"r","anonymous_pull":true,
            "acl":[{"subject":"ci","repository":"team/**","actions":["pull","push"]}]},
    "uploads":{"max_age_hours":2},"http":{"io_threads":3,"io_timeout_seconds":5},
    "log":{"level":"debug","access":false}})",
                         &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.listen, "127.0.0.1:6000");
  EXPECT_EQ(c.data, "/tmp/x");
  EXPECT_EQ(c.tls_key, "k.pem");
  EXPECT_TRUE(c.anonymous_pull);
  ASSERT_EQ(c.acl.size(), 1u);
  EXPECT_EQ(c.acl[0].actions, auth::kPull | auth::kPush);
  EXPECT_EQ(c.upload_max_age_hours, 2);
  EXPECT_EQ(c.io_threads, 3);
  EXPECT_FALSE(c.access_log);
}

TEST(Config, ErrorsNameTheField) {
  Config c;
  Status s = ParseConfig(R"({"lisen":"x"})", &c);
  EXPECT_NE(s.message().find("lisen"), std::string::npos);
  s = ParseConfig(R"({"auth":{"acl":[{"subject":"a","repository":"*","actions":["fly"]}]}})", &c);
  EXPECT_NE(s.message().find("auth.acl[0].actions"), std::string::npos) << s.message();
  s = ParseConfig(R"({"http":{"io_threads":"two"}})", &c);
  EXPECT_NE(s.message().find("http.io_threads"), std::string::npos);
  EXPECT_FALSE(ParseConfig("{", &c).ok());
}

TEST(Config, Metrics) {
  Config c;
  EXPECT_TRUE(c.metrics_enabled);  // on by default, /metrics on the main port only
  EXPECT_EQ(c.metrics_listen, "");
  EXPECT_FALSE(c.metrics_require_auth);
  Status s = ParseConfig(R"({"metrics":{"enabled":false,"listen":"127.0.0.1:9100","require_auth":true}})", &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(c.metrics_enabled);
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9100");
  EXPECT_TRUE(c.metrics_require_auth);

  s = ParseConfig(R"({"metrics":{"listen":"nonsense"}})", &c);
  EXPECT_NE(s.message().find("metrics.listen"), std::string::npos) << s.message();
  s = ParseConfig(R"({"metrics":{"enabled":"yes"}})", &c);
  EXPECT_NE(s.message().find("metrics.enabled"), std::string::npos) << s.message();
  s = ParseConfig(R"({"metrics":{"port":9100}})", &c);
  EXPECT_NE(s.message().find("metrics.port"), std::string::npos) << s.message();
}

TEST(Config, Admins) {
  Config c;
  ASSERT_TRUE(ParseConfig(R"({"auth":{"htpasswd":"/etc/h","admins":["root","ops"]}})", &c).ok());
  ASSERT_EQ(c.admins.size(), 2u);
  EXPECT_EQ(c.admins[0], "root");
  EXPECT_EQ(c.admins[1], "ops");
  Status s = ParseConfig(R"({"auth":{"admins":"root"}})", &c);
  EXPECT_NE(s.message().find("auth.admins"), std::string::npos) << s.message();
  s = ParseConfig(R"({"auth":{"admins":["root", 3]}})", &c);
  EXPECT_NE(s.message().find("auth.admins[1]"), std::string::npos) << s.message();
  EXPECT_TRUE(Config().admins.empty());
}

TEST(Config, ReplicationSeed) {
  Config c;
  Status s = ParseConfig(R"({"replication":{
    "registries":[{"name":"acr","type":"ali-acr","url":"https://registry.cn-hangzhou.aliyuncs.com",
                   "credential":{"access_key":"u","access_secret":"p"}}],
    "policies":[{"name":"to-acr","dest_registry":{"name":"acr"},"dest_namespace":"ns",
                 "trigger":{"type":"event_based"}}]}})",
                         &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(c.replication.registries.size(), 1u);
  ASSERT_EQ(c.replication.policies.size(), 1u);
  EXPECT_EQ(c.replication.policies[0].dest_name, "acr");

  s = ParseConfig(R"({"replication":{"policies":[{"name":"p","dest_registry":{"name":"nope"}}]}})", &c);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("replication.policies[0].dest_registry.name: ", 0), 0u) << s.message();
  s = ParseConfig(R"({"replication":{"registries":{}}})", &c);
  EXPECT_EQ(s.message(), "replication.registries: must be an array");
}

TEST(Config, ReplicationHealth) {
  Config c;
  EXPECT_EQ(c.repl_health_interval_seconds, 300);
  EXPECT_EQ(c.repl_health_failing_interval_seconds, 30);
  Status s = ParseConfig(R"({"replication":{"health":{"interval_seconds":60,"failing_interval_seconds":5},
                                             "registries":[]}})",
                         &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.repl_health_interval_seconds, 60);
  EXPECT_EQ(c.repl_health_failing_interval_seconds, 5);
  s = ParseConfig(R"({"replication":{"health":{"interval_seconds":0}}})", &c);
  EXPECT_EQ(s.message(), "replication.health.interval_seconds: must be an integer in [1, 86400]");
  s = ParseConfig(R"({"replication":{"health":{"every":1}}})", &c);
  EXPECT_EQ(s.message(), "replication.health.every: unknown key");
}

TEST(Config, ReadersShareOneShapeOfMessage) {
  Config c;
  EXPECT_EQ(ParseConfig(R"({"http":{"io_threads":-1}})", &c).message(),
            "http.io_threads: must be an integer in [0, 2147483647]");
  EXPECT_EQ(ParseConfig(R"({"log":{"access":"yes"}})", &c).message(), "log.access: must be true or false");
  EXPECT_EQ(ParseConfig(R"({"tls":{"cert":1}})", &c).message(), "tls.cert: must be a string");
  EXPECT_EQ(ParseConfig(R"({"http":{"header_limit_bytes":5000000000}})", &c).message(),
            "http.header_limit_bytes: must be an integer in [0, 4294967295]");
  // The seeded objects use the same readers, with the whole path.
  Status s = ParseConfig(R"({"replication":{"registries":[{"name":"a","url":"http://a","type":"harbor",
                                                           "insecure":"no"}]}})",
                         &c);
  EXPECT_EQ(s.message(), "replication.registries[0].insecure: must be true or false");
}

TEST(Config, SplitListen) {
  std::string h;
  uint16_t p = 0;
  ASSERT_TRUE(SplitListen("0.0.0.0:5000", &h, &p).ok());
  EXPECT_EQ(h, "0.0.0.0");
  EXPECT_EQ(p, 5000);
  ASSERT_TRUE(SplitListen("[::1]:80", &h, &p).ok());
  EXPECT_EQ(h, "::1");
  ASSERT_TRUE(SplitListen(":7", &h, &p).ok());
  EXPECT_EQ(h, "0.0.0.0");
  EXPECT_FALSE(SplitListen("nohost", &h, &p).ok());
  EXPECT_FALSE(SplitListen("a:70000", &h, &p).ok());
  EXPECT_FALSE(SplitListen("a:x", &h, &p).ok());
}

}  // namespace
}  // namespace pier

namespace pier {
namespace {

TEST(Config, TokenRealm) {
  Config c;
  EXPECT_FALSE(c.token.enabled);
  EXPECT_EQ(c.token.issuer, "pier");
  EXPECT_EQ(c.token.expiration_seconds, 300);
  Status s = ParseConfig(R"({"auth":{"token":{"enabled":true,"issuer":"i","service":"s","expiration_seconds":60,
    "key":"/k.pem","cert":"/c.pem","realm":"https://pier.example.com/token"}}})",
                         &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(c.token.enabled);
  EXPECT_EQ(c.token.issuer, "i");
  EXPECT_EQ(c.token.service, "s");
  EXPECT_EQ(c.token.expiration_seconds, 60);
  EXPECT_EQ(c.token.key, "/k.pem");
  EXPECT_EQ(c.token.cert, "/c.pem");
  EXPECT_EQ(c.token.realm, "https://pier.example.com/token");
}

TEST(Config, TokenErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"auth":{"token":{"enable":true}}})", "auth.token.enable"},
      {R"({"auth":{"token":{"enabled":"yes"}}})", "auth.token.enabled"},
      {R"({"auth":{"token":{"issuer":""}}})", "auth.token.issuer"},
      {R"({"auth":{"token":{"service":"a\"b"}}})", "auth.token.service"},
      {R"({"auth":{"token":{"expiration_seconds":0}}})", "auth.token.expiration_seconds"},
      {R"({"auth":{"token":{"expiration_seconds":-5}}})", "auth.token.expiration_seconds"},
      {R"({"auth":{"token":{"key":"/k.pem"}}})", "auth.token.cert"},
      {R"({"auth":{"token":{"cert":"/c.pem"}}})", "auth.token.key"},
      {R"({"auth":{"token":{"realm":"pier.example.com/token"}}})", "auth.token.realm"},
      {R"({"auth":{"token":[]}})", "auth.token"},
  };
  for (const Case& k : cases) {
    Config c;
    Status s = ParseConfig(k.json, &c);
    ASSERT_FALSE(s.ok()) << k.json;
    EXPECT_NE(s.message().find(k.key), std::string::npos) << k.json << " -> " << s.message();
  }
}

}  // namespace
TEST(Config, HarborWebhookAuthorization) {
  Config c;
  ASSERT_TRUE(ParseConfig(R"({"webhooks":{"harbor":{"authorization":"Bearer abc"}}})", &c).ok());
  EXPECT_EQ(c.harbor_webhook_authorization, "Bearer abc");

  // From a file (a mounted Secret key), trailing newline dropped.
  std::string file = ::testing::TempDir() + "/pier-webhook-auth";
  {
    std::ofstream out(file, std::ios::binary);
    out << "Bearer from-file\n";
  }
  Config f;
  Status s = ParseConfig(R"({"webhooks":{"harbor":{"authorization_file":")" + file + R"("}}})", &f);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(f.harbor_webhook_authorization, "Bearer from-file");

  Config e;
  s = ParseConfig(R"({"webhooks":{"harbor":{"authorization":"x","authorization_file":")" + file + R"("}}})", &e);
  EXPECT_NE(s.message().find("webhooks.harbor.authorization_file: give authorization or"), std::string::npos)
      << s.message();
  s = ParseConfig(R"({"webhooks":{"harbor":{"authorization_file":"/nonexistent/pier-auth"}}})", &e);
  EXPECT_NE(s.message().find("webhooks.harbor.authorization_file: cannot read /nonexistent/pier-auth"),
            std::string::npos)
      << s.message();
  s = ParseConfig(R"({"webhooks":{"harbor":{"authorisation":"x"}}})", &e);
  EXPECT_NE(s.message().find("webhooks.harbor.authorisation: unknown key"), std::string::npos) << s.message();
  s = ParseConfig(R"({"webhooks":{"harbor":{"authorization":"a\nb"}}})", &e);
  EXPECT_NE(s.message().find("no newlines"), std::string::npos) << s.message();
  std::remove(file.c_str());
}

TEST(Config, UploadWarmBytes) {
  Config c;
  EXPECT_EQ(c.upload_warm_bytes, int64_t{2} << 30);  // the default Store::Options documents
  ASSERT_TRUE(ParseConfig(R"({"uploads":{"warm_bytes":0}})", &c).ok());
  EXPECT_EQ(c.upload_warm_bytes, 0);  // off
  ASSERT_TRUE(ParseConfig(R"({"uploads":{"warm_bytes":8589934592}})", &c).ok());
  EXPECT_EQ(c.upload_warm_bytes, int64_t{8} << 30);
  Status s = ParseConfig(R"({"uploads":{"warm_bytes":-1}})", &c);
  EXPECT_NE(s.message().find("uploads.warm_bytes"), std::string::npos) << s.message();
  s = ParseConfig(R"({"uploads":{"warm_bytes":"2G"}})", &c);
  EXPECT_NE(s.message().find("uploads.warm_bytes"), std::string::npos) << s.message();
  s = ParseConfig(R"({"uploads":{"warm":1}})", &c);
  EXPECT_NE(s.message().find("uploads.warm"), std::string::npos) << s.message();
}

TEST(Config, GcKeys) {
  Config c;
  EXPECT_EQ(c.gc.grace_seconds, 7200);
  EXPECT_EQ(c.gc.schedule, "0 0 3 * * *");
  EXPECT_FALSE(c.gc.delete_untagged);
  EXPECT_EQ(c.gc.workers, 1);
  ASSERT_TRUE(ParseConfig(R"({"gc":{"grace_seconds":0,"schedule":"0 30 * * * *","delete_untagged":true,"workers":4}})",
                          &c)
                  .ok());
  EXPECT_EQ(c.gc.grace_seconds, 0);
  EXPECT_EQ(c.gc.schedule, "0 30 * * * *");
  EXPECT_TRUE(c.gc.delete_untagged);
  EXPECT_EQ(c.gc.workers, 4);
  ASSERT_TRUE(ParseConfig(R"({"gc":{"schedule":""}})", &c).ok());  // no schedule
  EXPECT_EQ(c.gc.schedule, "");

  Config e;
  Status s = ParseConfig(R"({"gc":{"schedule":"0 0 3 * *"}})", &e);
  EXPECT_NE(s.message().find("gc.schedule: "), std::string::npos) << s.message();
  s = ParseConfig(R"({"gc":{"schedule":"0 0 25 * * *"}})", &e);
  EXPECT_NE(s.message().find("gc.schedule: "), std::string::npos) << s.message();
  s = ParseConfig(R"({"gc":{"workers":11}})", &e);
  EXPECT_NE(s.message().find("gc.workers"), std::string::npos) << s.message();
  s = ParseConfig(R"({"gc":{"workers":0}})", &e);
  EXPECT_NE(s.message().find("gc.workers"), std::string::npos) << s.message();
  s = ParseConfig(R"({"gc":{"grace_seconds":-1}})", &e);
  EXPECT_NE(s.message().find("gc.grace_seconds"), std::string::npos) << s.message();
  s = ParseConfig(R"({"gc":{"delete_untagged":"yes"}})", &e);
  EXPECT_NE(s.message().find("gc.delete_untagged"), std::string::npos) << s.message();
  s = ParseConfig(R"({"gc":{"grace":1}})", &e);
  EXPECT_NE(s.message().find("gc.grace: unknown key"), std::string::npos) << s.message();
}

}  // namespace pier

namespace pier {
namespace {

TEST(Config, Storage) {
  Config c;
  EXPECT_EQ(c.storage.reserve_bytes, int64_t{1} << 30);  // 1 GiB by default
  EXPECT_EQ(c.storage.max_bytes, 0);
  EXPECT_EQ(c.storage.high_watermark_percent, 90);
  EXPECT_EQ(c.storage.low_watermark_percent, 80);
  EXPECT_FALSE(c.storage.evict_replicated);
  Status s = ParseConfig(R"({"storage":{"reserve_bytes":0,"max_bytes":1000,"high_watermark_percent":70,
                                        "low_watermark_percent":50,"evict_replicated":true}})",
                         &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.storage.reserve_bytes, 0);
  EXPECT_EQ(c.storage.max_bytes, 1000);
  EXPECT_EQ(c.storage.high_watermark_percent, 70);
  EXPECT_EQ(c.storage.low_watermark_percent, 50);
  EXPECT_TRUE(c.storage.evict_replicated);

  for (const char* bad : {R"({"storage":{"reserve_bytes":-1}})", R"({"storage":{"reserve_bytes":"1G"}})",
                          R"({"storage":{"high_watermark_percent":101}})",
                          R"({"storage":{"low_watermark_percent":0}})",
                          R"({"storage":{"high_watermark_percent":80,"low_watermark_percent":80}})",
                          R"({"storage":{"reserve":1}})", R"({"storage":7})"}) {
    Config d;
    Status e = ParseConfig(bad, &d);
    EXPECT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.message().find("storage"), std::string::npos) << bad << ": " << e.message();
  }
}

}  // namespace
}  // namespace pier

namespace pier {
namespace {

// A file holding `content`, removed with the test.
struct SecretFile {
  explicit SecretFile(const std::string& content) {
    char tmpl[] = "/tmp/pier-secret-XXXXXX";
    int fd = ::mkstemp(tmpl);
    path = tmpl;
    std::ofstream(path, std::ios::binary) << content;
    ::close(fd);
  }
  ~SecretFile() { std::remove(path.c_str()); }
  std::string path;
};

TEST(ClusterConfig, DefaultsAreLocalFilesAndRocksDb) {
  Config c;
  ASSERT_TRUE(ParseConfig("{}", &c).ok());
  EXPECT_EQ(c.storage.type, "filesystem");
  EXPECT_EQ(c.metadata.type, "rocksdb");
  // Watermark-only storage blocks stay valid.
  ASSERT_TRUE(ParseConfig(R"({"storage":{"max_bytes":10}})", &c).ok());
  EXPECT_EQ(c.storage.type, "filesystem");
}

TEST(ClusterConfig, TheIssuesExampleParses) {
  SecretFile s3secret("s3cr3t-value\n");
  SecretFile dbpw("db-pw\n");
  Config c;
  Status s = ParseConfig(R"({"storage": {"type": "s3", "s3": {"endpoint": "http://rgw:7480", "region": "us-east-1",
      "bucket": "pier", "prefix": "", "path_style": true, "access_key": "AK",
      "secret_key_file": ")" + s3secret.path + R"(", "ca": "", "redirect": false}},
    "metadata": {"type": "postgres", "postgres": {"dsn": "host=db port=5432 dbname=pier user=pier",
      "password_file": ")" + dbpw.path + R"("}}})",
                         &c);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.storage.type, "s3");
  EXPECT_EQ(c.storage.s3.endpoint, "http://rgw:7480");
  EXPECT_EQ(c.storage.s3.bucket, "pier");
  EXPECT_EQ(c.storage.s3.access_key, "AK");
  EXPECT_EQ(c.storage.s3.secret_key, "s3cr3t-value");
  EXPECT_TRUE(c.storage.s3.path_style);
  EXPECT_EQ(c.metadata.type, "postgres");
  EXPECT_EQ(c.metadata.postgres_dsn, "host=db port=5432 dbname=pier user=pier");
  EXPECT_EQ(c.metadata.postgres_password, "db-pw");
  EXPECT_EQ(c.metadata.postgres_pool_size, 8);
}

TEST(ClusterConfig, PoolSizeIsBounded) {
  Config c;
  const std::string head = R"({"metadata": {"type": "postgres", "postgres": {"dsn": "host=db", "pool_size": )";
  ASSERT_TRUE(ParseConfig(head + "20}}}", &c).ok());
  EXPECT_EQ(c.metadata.postgres_pool_size, 20);
  Status s = ParseConfig(head + "1}}}", &c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("metadata.postgres.pool_size"), std::string::npos) << s.message();
}

TEST(ClusterConfig, ClusterFillWaitDefaultsAndIsBounded) {
  Config c;
  ASSERT_TRUE(ParseConfig(R"({"proxy": {}})", &c).ok());
  EXPECT_EQ(c.proxy_cluster_fill_wait_seconds, 60);
  ASSERT_TRUE(ParseConfig(R"({"proxy": {"cluster_fill_wait_seconds": 0}})", &c).ok());
  EXPECT_EQ(c.proxy_cluster_fill_wait_seconds, 0);
  for (const char* bad : {R"({"proxy": {"cluster_fill_wait_seconds": 3601}})",
                          R"({"proxy": {"cluster_fill_wait_seconds": -1}})",
                          R"({"proxy": {"cluster_fill_wait_seconds": "10"}})"}) {
    Status s = ParseConfig(bad, &c);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("proxy.cluster_fill_wait_seconds"), std::string::npos) << s.message();
  }
}

TEST(ClusterConfig, PrefixIsNormalizedAndChecked) {
  Config c;
  const std::string base =
      R"({"storage":{"type":"s3","s3":{"endpoint":"https://oss-cn-hangzhou.aliyuncs.com","bucket":"team-pier","access_key":"a","secret_key":"b","path_style":false,"prefix":")";
  ASSERT_TRUE(ParseConfig(base + R"(registry/pier"}}})", &c).ok());
  EXPECT_EQ(c.storage.s3.prefix, "registry/pier/");
  EXPECT_FALSE(c.storage.s3.path_style);
  for (const char* bad : {"/abs", "a//b", "a/../b", "a b", "..", "x/./y"}) {
    Config e;
    Status s = ParseConfig(base + bad + R"("}}})", &e);
    EXPECT_NE(s.message().find("storage.s3.prefix"), std::string::npos) << bad << ": " << s.message();
  }
}

TEST(ClusterConfig, ErrorsNameTheFieldAndNeverTheSecret) {
  struct Case {
    std::string json, field;
  };
  const std::vector<Case> cases = {
      {R"({"storage":{"type":"nfs"}})", "storage.type"},
      {R"({"storage":{"type":"s3","s3":{"bucket":"pier","access_key":"a","secret_key":"TOPSECRET"}}})",
       "storage.s3.endpoint"},
      {R"({"storage":{"type":"s3","s3":{"endpoint":"ftp://x","bucket":"pier","access_key":"a","secret_key":"TOPSECRET"}}})",
       "storage.s3.endpoint"},
      {R"({"storage":{"type":"s3","s3":{"endpoint":"http://x/path","bucket":"pier","access_key":"a","secret_key":"TOPSECRET"}}})",
       "storage.s3.endpoint"},
      {R"({"storage":{"type":"s3","s3":{"endpoint":"http://x","bucket":"Pier_Bucket","access_key":"a","secret_key":"TOPSECRET"}}})",
       "storage.s3.bucket"},
      {R"({"storage":{"type":"s3","s3":{"endpoint":"http://x","bucket":"pier","secret_key":"TOPSECRET"}}})",
       "storage.s3.access_key"},
      {R"({"storage":{"type":"s3","s3":{"endpoint":"http://x","bucket":"pier","access_key":"a"}}})",
       "storage.s3.secret_key"},
      {R"({"storage":{"type":"s3","s3":{"endpoint":"http://x","bucket":"pier","access_key":"a","secret_key":"TOPSECRET","secret_key_file":"/x"}}})",
       "storage.s3.secret_key_file"},
      {R"({"storage":{"type":"s3","s3":{"endpoint":"http://x","bucket":"pier","access_key":"a","secret_key_file":"/nonexistent/s"}}})",
       "storage.s3.secret_key_file"},
      {R"({"storage":{"s3":{"endpoit":"http://x"}}})", "storage.s3.endpoit"},
      {R"({"metadata":{"type":"mysql"}})", "metadata.type"},
      {R"({"metadata":{"type":"postgres"}})", "metadata.postgres.dsn"},
      {R"({"metadata":{"type":"postgres","postgres":{"dsn":"host=db password=TOPSECRET"}}})",
       "metadata.postgres.dsn"},
      {R"({"metadata":{"type":"postgres","postgres":{"dsn":"postgresql://pier:TOPSECRET@db/pier"}}})",
       "metadata.postgres.dsn"},
      {R"({"metadata":{"postgres":{"dsn":"host=db","password":"TOPSECRET","password_file":"/x"}}})",
       "metadata.postgres.password_file"},
  };
  for (const Case& k : cases) {
    Config c;
    Status s = ParseConfig(k.json, &c);
    ASSERT_FALSE(s.ok()) << k.json;
    EXPECT_NE(s.message().find(k.field), std::string::npos) << k.json << " -> " << s.message();
    EXPECT_EQ(s.message().find("TOPSECRET"), std::string::npos) << s.message();
  }
  // An S3 block kept while the type is filesystem is parsed but not required to be complete.
  Config c;
  EXPECT_TRUE(ParseConfig(R"({"storage":{"type":"filesystem","s3":{"bucket":"pier"}}})", &c).ok());
}

}  // namespace
}  // namespace pier
