// Drives RegistryHandler directly (no sockets) over a real Store in a
// temporary folder: the exchange each route asks for, and the responses.
#include "adapter/registry/registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "adapter/registry/errors.h"
#include "base/clock.h"
#include "base/digest.h"
#include "cache/disk_space.h"

namespace pier::registry {
namespace {

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pier-handler-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Store::Options o;
    o.root = dir_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    auto authz = std::make_shared<auth::Authorizer>(std::nullopt, std::vector<auth::AclRule>{}, false);
    RegistryOptions ro;
    ro.access_log = false;
    // Free space as the test says (free_), against a 1000-byte reserve.
    space_ = std::make_shared<DiskSpace>(dir_, kReserve, clock_,
                                         [this](const std::filesystem::path&) { return free_; });
    ro.disk_space = space_;
    handler_ = std::make_unique<RegistryHandler>(store_, authz, ro);
  }
  void TearDown() override {
    handler_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs one request through Begin → body → Finish.
  http::Response Call(const std::string& method, const std::string& target, const std::string& body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request req;
    req.method = method;
    req.target = target;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.headers = std::move(headers);
    req.content_length = body.size();
    http::Exchange ex = handler_->Begin(req);
    if (ex.immediate) return std::move(*ex.immediate);
    http::BodyResult br;
    br.bytes = body.size();
    if (ex.mode == http::BodyMode::kStream) {
      br.status = ex.sink->Write(std::span<const char>(body.data(), body.size()));
    } else if (ex.mode == http::BodyMode::kBuffer) {
      if (body.size() > ex.buffer_limit) br.status = Status::SizeInvalid("too large");
      else br.buffered = body;
    }
    return ex.finish(std::move(br));
  }

  static std::string Header(const http::Response& r, const std::string& name) {
    for (auto& [k, v] : r.headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
  static std::string Code(const http::Response& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("errors")) return "";
    return j["errors"][0]["code"].get<std::string>();
  }

  std::string PushBlob(const std::string& repo, const std::string& data) {
    std::string d = Sha256Of(data).str();
    http::Response r = Call("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + d, data);
    EXPECT_EQ(r.status, 201) << r.body;
    return d;
  }

  // The disk now has `bytes` free (seen at once: the cached reading is dropped).
  void SetFree(std::optional<uint64_t> bytes) {
    free_ = bytes;
    space_->Refresh();
  }

  static constexpr uint64_t kReserve = 1000;
  std::filesystem::path dir_;
  std::shared_ptr<Store> store_;
  FakeClock clock_;
  std::optional<uint64_t> free_ = uint64_t{1} << 40;  // read by the probe, on the test thread
  std::shared_ptr<DiskSpace> space_;
  std::unique_ptr<RegistryHandler> handler_;
};

TEST_F(HandlerTest, BaseAndHealth) {
  EXPECT_EQ(Call("GET", "/v2/").status, 200);
  EXPECT_EQ(Header(Call("GET", "/v2/"), "Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(Call("GET", "/healthz").status, 200);
  EXPECT_EQ(Call("GET", "/nope").status, 404);
}

TEST_F(HandlerTest, MonolithicPushThenHeadAndRange) {
  std::string d = PushBlob("a/b", "hello world");
  http::Response head = Call("HEAD", "/v2/a/b/blobs/" + d);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.head_length.value_or(0), 11u);
  EXPECT_EQ(Header(head, "Docker-Content-Digest"), d);
  http::Response ranged = Call("GET", "/v2/a/b/blobs/" + d, "", {{"range", "bytes=6-10"}});
  EXPECT_EQ(ranged.status, 206);
  ASSERT_TRUE(ranged.file.has_value());
  EXPECT_EQ(ranged.file->offset, 6u);
  EXPECT_EQ(ranged.file->length, 5u);
  EXPECT_EQ(Header(ranged, "Content-Range"), "bytes 6-10/11");
  EXPECT_EQ(Call("GET", "/v2/a/b/blobs/" + d, "", {{"range", "bytes=11-"}}).status, 416);
  // Another repository cannot read it until it mounts it.
  EXPECT_EQ(Call("HEAD", "/v2/other/blobs/" + d).status, 404);
  EXPECT_EQ(Call("POST", "/v2/other/blobs/uploads/?mount=" + d + "&from=a/b").status, 201);
  EXPECT_EQ(Call("HEAD", "/v2/other/blobs/" + d).status, 200);
}

TEST_F(HandlerTest, ChunkedUploadWithGapGets416) {
  http::Response start = Call("POST", "/v2/r/blobs/uploads/");
  ASSERT_EQ(start.status, 202);
  std::string loc = Header(start, "Location");
  ASSERT_EQ(loc.rfind("/v2/r/blobs/uploads/", 0), 0u) << loc;
  http::Response p1 = Call("PATCH", loc, "abcd", {{"content-range", "0-3"}});
  EXPECT_EQ(p1.status, 202);
  EXPECT_EQ(Header(p1, "Range"), "0-3");
  http::Response gap = Call("PATCH", loc, "zz", {{"content-range", "6-7"}});
  EXPECT_EQ(gap.status, 416);
  EXPECT_EQ(Header(gap, "Range"), "0-3");
  http::Response status = Call("GET", loc);
  EXPECT_EQ(status.status, 204);
  EXPECT_EQ(Header(status, "Range"), "0-3");
  std::string d = Sha256Of("abcdefgh").str();
  http::Response put = Call("PUT", loc + "?digest=" + d, "efgh", {{"content-range", "4-7"}});
  EXPECT_EQ(put.status, 201) << put.body;
  EXPECT_EQ(Call("HEAD", "/v2/r/blobs/" + d).status, 200);
}

TEST_F(HandlerTest, WrongDigestStoresNothing) {
  std::string wrong = Sha256Of("other").str();
  http::Response r = Call("POST", "/v2/r/blobs/uploads/?digest=" + wrong, "data");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Code(r), "DIGEST_INVALID");
  EXPECT_EQ(Call("HEAD", "/v2/r/blobs/" + wrong).status, 404);
  EXPECT_EQ(Call("HEAD", "/v2/r/blobs/" + Sha256Of("data").str()).status, 404);
}

TEST_F(HandlerTest, BadNamesAndDigests) {
  EXPECT_EQ(Code(Call("GET", "/v2/UPPER/tags/list")), "NAME_INVALID");
  EXPECT_NE(Call("GET", "/v2/Team/app/tags/list").body.find("must be lowercase"), std::string::npos);
  EXPECT_EQ(Code(Call("GET", "/v2/a/../b/tags/list")), "NAME_INVALID");
  EXPECT_EQ(Code(Call("GET", "/v2/" + std::string(300, 'a') + "/tags/list")), "NAME_INVALID");
  EXPECT_EQ(Code(Call("GET", "/v2/a/blobs/sha256:xyz")), "DIGEST_INVALID");
  EXPECT_EQ(Code(Call("GET", "/v2/a/blobs/md5:abc")), "DIGEST_INVALID");
  EXPECT_EQ(Call("GET", "/v2/a/blobs/uploads/not-a-uuid").status, 404);
  EXPECT_EQ(Call("PUT", "/v2/a/blobs/sha256:" + std::string(64, 'a')).status, 405);
}

TEST_F(HandlerTest, ManifestLifecycle) {
  std::string cfg = PushBlob("app", "{}");
  std::string layer = PushBlob("app", "layer-bytes");
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                      {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", cfg}, {"size", 2}}},
                      {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"digest", layer}, {"size", 11}}}}};
  std::string body = m.dump();
  std::string ct = "application/vnd.oci.image.manifest.v1+json";
  http::Response put = Call("PUT", "/v2/app/manifests/v1", body, {{"content-type", ct}});
  ASSERT_EQ(put.status, 201) << put.body;
  std::string digest = Header(put, "Docker-Content-Digest");
  EXPECT_EQ(digest, Sha256Of(body).str());

  http::Response get = Call("GET", "/v2/app/manifests/v1");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, body);
  EXPECT_EQ(Header(get, "Content-Type"), ct);
  // Harbor sends its Accept types as separate lines; one of them matches.
  http::Response neg = Call("GET", "/v2/app/manifests/" + digest, "",
                            {{"accept", "application/vnd.docker.distribution.manifest.v2+json"},
                             {"accept", "application/vnd.oci.image.manifest.v1+json"}});
  EXPECT_EQ(neg.status, 200);
  http::Response refused = Call("GET", "/v2/app/manifests/v1", "",
                                {{"accept", "application/vnd.docker.distribution.manifest.v2+json"}});
  EXPECT_EQ(refused.status, 404);

  EXPECT_EQ(Call("GET", "/v2/app/tags/list").body, R"({"name":"app","tags":["v1"]})");
  EXPECT_EQ(Call("DELETE", "/v2/app/manifests/v1").status, 202);
  EXPECT_EQ(Call("GET", "/v2/app/manifests/v1").status, 404);
  EXPECT_EQ(Call("GET", "/v2/app/manifests/" + digest).status, 200);
  EXPECT_EQ(Call("DELETE", "/v2/app/manifests/" + digest).status, 202);
  EXPECT_EQ(Code(Call("GET", "/v2/app/manifests/" + digest)), "MANIFEST_UNKNOWN");
}

TEST_F(HandlerTest, ManifestErrors) {
  std::string ct = "application/vnd.oci.image.manifest.v1+json";
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", ct},
                      {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                  {"digest", Sha256Of("missing").str()}, {"size", 7}}},
                      {"layers", nlohmann::json::array()}};
  http::Response r = Call("PUT", "/v2/app/manifests/v1", m.dump(), {{"content-type", ct}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Code(r), "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(Code(Call("PUT", "/v2/app/manifests/v1", "{not json", {{"content-type", ct}})), "MANIFEST_INVALID");
  EXPECT_EQ(Call("PUT", "/v2/app/manifests/v1", std::string(5 * 1024 * 1024, ' '), {{"content-type", ct}}).status,
            413);
  EXPECT_EQ(Code(Call("PUT", "/v2/app/manifests/" + Sha256Of("x").str(), "{}", {{"content-type", ct}})),
            "MANIFEST_INVALID");
  EXPECT_EQ(Call("GET", "/v2/app/tags/list").status, 404);
}

// The OCI conformance suite reads `.INVALID_MANIFEST_NAME`: a reference that
// cannot exist is unknown (404) to GET, HEAD and DELETE; a PUT names the tag.
TEST_F(HandlerTest, InvalidTagIsUnknownToReadsAndInvalidToPut) {
  for (const char* method : {"GET", "HEAD", "DELETE"}) {
    http::Response r = Call(method, "/v2/app/manifests/.INVALID_MANIFEST_NAME");
    EXPECT_EQ(r.status, 404) << method;
    if (std::string(method) != "HEAD") {
      EXPECT_EQ(Code(r), "MANIFEST_UNKNOWN") << method;
    }
  }
  http::Response put = Call("PUT", "/v2/app/manifests/.INVALID_MANIFEST_NAME", "{}",
                            {{"content-type", "application/vnd.oci.image.manifest.v1+json"}});
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(Code(put), "TAG_INVALID");
}

TEST_F(HandlerTest, TagPagination) {
  std::string cfg = PushBlob("p", "{}");
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                      {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", cfg}, {"size", 2}}},
                      {"layers", nlohmann::json::array()}};
  for (std::string t : {"b", "a", "c"}) {
    ASSERT_EQ(Call("PUT", "/v2/p/manifests/" + t, m.dump(),
                   {{"content-type", "application/vnd.oci.image.manifest.v1+json"}})
                  .status,
              201);
  }
  http::Response page = Call("GET", "/v2/p/tags/list?n=2");
  EXPECT_EQ(page.body, R"({"name":"p","tags":["a","b"]})");
  EXPECT_EQ(Header(page, "Link"), "</v2/p/tags/list?n=2&last=b>; rel=\"next\"");
  EXPECT_EQ(Call("GET", "/v2/p/tags/list?n=2&last=b").body, R"({"name":"p","tags":["c"]})");
  EXPECT_EQ(Call("GET", "/v2/p/tags/list?n=x").status, 400);
}

}  // namespace
}  // namespace pier::registry

namespace pier::registry {
namespace {

// Below the reserve every write that brings bytes is refused up front with
// 403 DENIED "no space left on device" (docker stops retrying on both).
TEST_F(HandlerTest, BelowReserveUploadsAreDenied) {
  std::string kept = PushBlob("r", "already here");
  http::Response start = Call("POST", "/v2/r/blobs/uploads/");
  ASSERT_EQ(start.status, 202);
  std::string loc = Header(start, "Location");
  ASSERT_EQ(Call("PATCH", loc, "abcd", {{"content-range", "0-3"}}).status, 202);

  SetFree(999);
  auto denied = [&](const http::Response& r) {
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(Code(r), "DENIED");
    EXPECT_NE(r.body.find("no space left on device"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("999 bytes free"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("reserve 1000"), std::string::npos) << r.body;
  };
  denied(Call("POST", "/v2/r/blobs/uploads/"));
  denied(Call("POST", "/v2/r/blobs/uploads/?digest=" + Sha256Of("x").str(), "x"));
  denied(Call("PATCH", loc, "efgh", {{"content-range", "4-7"}}));
  denied(Call("PUT", loc + "?digest=" + Sha256Of("abcdefgh").str(), "efgh", {{"content-range", "4-7"}}));
  EXPECT_EQ(space_->refusals(), 4u);
  // Nothing moved: the session is where it was, the monolithic blob absent.
  EXPECT_EQ(Header(Call("GET", loc), "Range"), "0-3");
  EXPECT_EQ(Call("HEAD", "/v2/r/blobs/" + Sha256Of("x").str()).status, 404);

  // A mount adds no bytes: not refused.
  EXPECT_EQ(Call("POST", "/v2/other/blobs/uploads/?mount=" + kept + "&from=r").status, 201);
  // A closing PUT without a body commits bytes already on disk: not refused.
  EXPECT_EQ(Call("PUT", loc + "?digest=" + Sha256Of("abcd").str()).status, 201);
  // Pulls go on.
  EXPECT_EQ(Call("HEAD", "/v2/r/blobs/" + kept).status, 200);

  // /readyz stays 200 and says why pushes fail; /healthz is a bare "ok".
  http::Response ready = Call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ok\nstorage: low space: 999 bytes free, reserve 1000 bytes; uploads are refused\n");
  EXPECT_EQ(Call("GET", "/healthz").body, "ok\n");

  // Space comes back: pushes work again, no restart.
  SetFree(uint64_t{1} << 30);
  EXPECT_EQ(Call("GET", "/readyz").body, "ok\n");
  PushBlob("r", "after the space came back");
  EXPECT_EQ(space_->refusals(), 4u);
}

// An announced body that would take the disk below the reserve is refused
// before a byte is written; one that fits goes through.
TEST_F(HandlerTest, AnnouncedBodyMustFitAboveReserve) {
  SetFree(kReserve + 10);
  http::Response big = Call("POST", "/v2/r/blobs/uploads/?digest=" + Sha256Of("eleven byte").str(), "eleven byte");
  EXPECT_EQ(big.status, 403) << big.body;
  EXPECT_NE(big.body.find("upload needs 11"), std::string::npos) << big.body;
  PushBlob("r", "ten bytes!");
}

// Free space that cannot be read never refuses: the write itself tells.
TEST_F(HandlerTest, UnknownFreeSpaceDoesNotRefuse) {
  SetFree(std::nullopt);
  PushBlob("r", "data");
  EXPECT_EQ(Call("GET", "/readyz").body, "ok\n");
}

// A full disk met by the store (ENOSPC from the OS or RocksDB) is answered
// like a refusal: 403 DENIED with docker's "no space left on device" phrase.
TEST(Errors, ResourceExhaustedIsDenied) {
  http::Response r = FromStatus(Status::ResourceExhausted("pwrite: No space left on device"), "BLOB_UNKNOWN");
  EXPECT_EQ(r.status, 403);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["errors"][0]["code"], "DENIED");
  EXPECT_EQ(j["errors"][0]["message"], "no space left on device: pwrite: No space left on device");
  // A message that already says it is kept as it is.
  r = FromStatus(Status::ResourceExhausted("no space left on device: 5 bytes free, reserve 9 bytes"), "X");
  EXPECT_EQ(nlohmann::json::parse(r.body)["errors"][0]["message"], "no space left on device: 5 bytes free, reserve 9 bytes");
  EXPECT_EQ(FromStatus(Status::IOError("disk on fire"), "X").status, 500);
}

}  // namespace
}  // namespace pier::registry
