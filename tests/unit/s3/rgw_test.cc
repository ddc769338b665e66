// The S3 client against a real Ceph radosgw (tests/unit/common/rgw.h starts
// one per test process). Each test works in its own bucket, so a bare run of
// the binary (one radosgw for all) and ctest (one per test) behave alike.
#include <fcntl.h>
#include <openssl/evp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <random>

#include "adapter/client/transport.h"
#include "base/digest.h"
#include "cache/s3/client.h"
#include "tests/unit/common/rgw.h"
#include "tests/unit/common/temp_dir.h"

namespace pier::s3 {
namespace {

using client::Call;

constexpr size_t kMiB = 1 << 20;

std::string Pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Md5Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_md5(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += "0123456789abcdef"[md[i] >> 4];
    out += "0123456789abcdef"[md[i] & 15];
  }
  return out;
}

class S3Rgw : public testing::RgwTest {
 protected:
  void SetUp() override {
    testing::RgwTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // A bucket per test: "t-" and the test's name, lower-cased.
    bucket_ = "t-";
    for (char c : std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())) {
      bucket_ += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
    }
    bucket_ = bucket_.substr(0, 63);
    client_ = Make(rgw().secret_key);
    ASSERT_NE(client_, nullptr);
    Call call;
    ASSERT_TRUE(client_->CreateBucket(call).ok());
  }

  std::unique_ptr<Client> Make(const std::string& secret, const std::string& access = "") {
    Config c;
    c.endpoint = rgw().endpoint;
    c.region = rgw().region;
    c.bucket = bucket_;
    c.access_key = access.empty() ? rgw().access_key : access;
    c.secret_key = secret;
    c.no_progress_timeout_ms = 20'000;
    auto r = Client::Create(c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  // The whole object through Get, or the failure.
  Result<std::string> GetAll(std::string_view key, uint64_t offset = 0, std::optional<uint64_t> length = {},
                             ObjectInfo* info = nullptr) {
    std::string out;
    client::BodySink sink = [&](const client::HttpResponse&, std::span<const char> d) {
      out.append(d.data(), d.size());
      return Status::OK();
    };
    Call call;
    auto r = client_->Get(key, offset, length, sink, call);
    if (!r.ok()) return r.status();
    if (info != nullptr) *info = *r;
    return out;
  }

  std::string bucket_;
  std::unique_ptr<Client> client_;
};

TEST_F(S3Rgw, ObjectsRoundTrip) {
  Call call;
  ASSERT_TRUE(client_->CreateBucket(call).ok()) << "a second CreateBucket of our own bucket is OK";
  const std::string body = "hello, radosgw";
  ASSERT_TRUE(client_->Put("dir/obj", body, call).ok());

  auto head = client_->Head("dir/obj", call);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, body.size());
  EXPECT_EQ(head->etag, Md5Hex(body)) << "a single-part object's ETag is its MD5, without quotes";
  EXPECT_LE(std::abs(head->last_modified_unix - static_cast<int64_t>(std::time(nullptr))), 120);

  ObjectInfo info;
  auto all = GetAll("dir/obj", 0, std::nullopt, &info);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, body);
  EXPECT_EQ(info.size, body.size());
  EXPECT_EQ(info.etag, head->etag);

  auto mid = GetAll("dir/obj", 7, 7, &info);
  ASSERT_TRUE(mid.ok()) << mid.status().ToString();
  EXPECT_EQ(*mid, "radosgw");
  EXPECT_EQ(info.size, body.size()) << "size is the whole object's, not the range's";
  auto tail = GetAll("dir/obj", 7);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "radosgw");
  auto over = GetAll("dir/obj", 10, 100);  // a range running past the end is cut
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(*over, "osgw");
  auto past = GetAll("dir/obj", 100, 1);
  EXPECT_EQ(past.status().code(), Code::kOutOfRange) << past.status().ToString();

  auto small = client_->GetSmall("dir/obj", 64, call);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(*small, body);
  auto exact = client_->GetSmall("dir/obj", body.size(), call);
  ASSERT_TRUE(exact.ok());
  auto big = client_->GetSmall("dir/obj", body.size() - 1, call);
  EXPECT_EQ(big.status().code(), Code::kOutOfRange) << big.status().ToString();

  ASSERT_TRUE(client_->Put("empty", "", call).ok());
  auto empty = GetAll("empty", 0, std::nullopt, &info);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(info.size, 0u);

  ASSERT_TRUE(client_->Delete("dir/obj", call).ok());
  auto gone = client_->Head("dir/obj", call);
  EXPECT_EQ(gone.status().code(), Code::kNotFound) << gone.status().ToString();
  EXPECT_EQ(call.error.kind, client::ErrorKind::kNotFound);
  auto gone_get = GetAll("dir/obj");
  EXPECT_EQ(gone_get.status().code(), Code::kNotFound);
  EXPECT_NE(gone_get.status().message().find("NoSuchKey"), std::string::npos) << gone_get.status().message();
  EXPECT_NE(gone_get.status().message().find("'dir/obj'"), std::string::npos) << gone_get.status().message();
  EXPECT_TRUE(client_->Delete("dir/obj", call).ok()) << "deleting an absent key is OK";
}

TEST_F(S3Rgw, KeysWithSpecialCharacters) {
  Call call;
  const std::vector<std::string> keys = {"a b/c+d&e'f", "x/\xC3\xA9t\xC3\xA9~!$*()=,;@:", "p%20q/%2F"};
  for (const auto& k : keys) ASSERT_TRUE(client_->Put(k, "v:" + k, call).ok()) << k;
  for (const auto& k : keys) {
    auto v = client_->GetSmall(k, 1024, call);
    ASSERT_TRUE(v.ok()) << k << ": " << v.status().ToString();
    EXPECT_EQ(*v, "v:" + k);
  }
  auto page = client_->List("", "", 1000, call);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  std::vector<std::string> listed;
  for (const auto& o : page->objects) listed.push_back(o.key);
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(listed, want);
}

TEST_F(S3Rgw, ListPaginatesAndFiltersThenDeleteMany) {
  Call call;
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) keys.push_back("p/k" + std::to_string(i));
  for (const auto& k : keys) ASSERT_TRUE(client_->Put(k, k, call).ok());
  ASSERT_TRUE(client_->Put("q/other", "o", call).ok());

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = client_->List("p/", token, 2, call);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->objects.size(), 2u);
    for (const auto& o : page->objects) {
      seen.push_back(o.key);
      EXPECT_EQ(o.size, o.key.size());
      EXPECT_FALSE(o.etag.empty());
      EXPECT_GT(o.last_modified_unix, 0);
    }
    token = page->next_token;
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, keys);

  auto all = client_->List("", "", 1000, call);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->objects.size(), 6u);
  EXPECT_TRUE(all->next_token.empty());

  std::vector<std::string> doomed = keys;
  doomed.push_back("p/never-existed");
  ASSERT_TRUE(client_->DeleteMany(doomed, call).ok());
  auto left = client_->List("", "", 1000, call);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->objects.size(), 1u);
  EXPECT_EQ(left->objects[0].key, "q/other");
  EXPECT_TRUE(client_->DeleteMany({}, call).ok());
}

TEST_F(S3Rgw, DeleteManyInBatchesOfAThousand) {
  Call call;
  std::vector<std::string> keys;
  for (int i = 0; i < 1003; ++i) keys.push_back("m/" + std::to_string(i));
  // Only a few exist: deleting absent keys is fine, and the batch split
  // must reach the last ones.
  for (const char* k : {"m/0", "m/999", "m/1000", "m/1002"}) ASSERT_TRUE(client_->Put(k, "x", call).ok());
  ASSERT_TRUE(client_->DeleteMany(keys, call).ok());
  auto left = client_->List("m/", "", 1000, call);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->objects.empty());
}

TEST_F(S3Rgw, MultipartUploadRoundTrip) {
  Call call;
  testing::TempDir tmp("pier-s3");
  const std::string p1 = Pattern(5 * kMiB, 1), p2 = Pattern(5 * kMiB, 2), p3 = Pattern(12345, 3);
  testing::WriteFile(tmp.path() / "p2", p2);
  auto id = client_->CreateMultipart("big/object", call);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto e1 = client_->UploadPart("big/object", *id, 1, p1, call);
  ASSERT_TRUE(e1.ok()) << e1.status().ToString();
  const int fd = ::open((tmp.path() / "p2").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto e2 = client_->UploadPartFile("big/object", *id, 2, {fd, 0, p2.size()}, call);
  ::close(fd);
  ASSERT_TRUE(e2.ok()) << e2.status().ToString();
  auto e3 = client_->UploadPart("big/object", *id, 3, p3, call);
  ASSERT_TRUE(e3.ok()) << e3.status().ToString();
  EXPECT_EQ(e1->find('"'), std::string::npos);

  ASSERT_TRUE(client_->CompleteMultipart("big/object", *id, {{1, *e1}, {2, *e2}, {3, *e3}}, call).ok());
  auto head = client_->Head("big/object", call);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, p1.size() + p2.size() + p3.size());
  EXPECT_NE(head->etag.find("-3"), std::string::npos) << head->etag;  // a multipart ETag
  auto got = GetAll("big/object");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Sha256Of(*got).hex, Sha256Of(p1 + p2 + p3).hex);

  // The upload is gone once completed.
  auto again = client_->UploadPart("big/object", *id, 4, "x", call);
  EXPECT_EQ(again.status().code(), Code::kNotFound) << again.status().ToString();
  EXPECT_NE(again.status().message().find("NoSuchUpload"), std::string::npos);
}

TEST_F(S3Rgw, CompleteWithABadPartFails) {
  Call call;
  auto id = client_->CreateMultipart("obj", call);
  ASSERT_TRUE(id.ok());
  auto e1 = client_->UploadPart("obj", *id, 1, Pattern(5 * kMiB, 4), call);
  ASSERT_TRUE(e1.ok());
  Status s = client_->CompleteMultipart("obj", *id, {{1, *e1}, {2, "0123456789abcdef0123456789abcdef"}}, call);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("InvalidPart"), std::string::npos) << s.ToString();
  EXPECT_EQ(client_->Head("obj", call).status().code(), Code::kNotFound);
  ASSERT_TRUE(client_->AbortMultipart("obj", *id, call).ok());
}

TEST_F(S3Rgw, AbortMultipart) {
  Call call;
  auto id = client_->CreateMultipart("aborted", call);
  ASSERT_TRUE(id.ok());
  auto e1 = client_->UploadPart("aborted", *id, 1, "part", call);
  ASSERT_TRUE(e1.ok());
  ASSERT_TRUE(client_->AbortMultipart("aborted", *id, call).ok());
  auto part = client_->UploadPart("aborted", *id, 2, "late", call);
  EXPECT_EQ(part.status().code(), Code::kNotFound) << part.status().ToString();
  EXPECT_EQ(call.error.registry_code, "NoSuchUpload");
  // AWS answers NoSuchUpload here; RGW 16 a 500 "completion is already in
  // progress". Either way it must not succeed.
  Status complete = client_->CompleteMultipart("aborted", *id, {{1, *e1}}, call);
  EXPECT_FALSE(complete.ok());
  EXPECT_TRUE(client_->AbortMultipart("aborted", *id, call).ok()) << "already gone is OK";
  EXPECT_EQ(client_->Head("aborted", call).status().code(), Code::kNotFound);
}

TEST_F(S3Rgw, ServerSideCopies) {
  Call call;
  const std::string src = Pattern(6 * kMiB + 7, 5);
  ASSERT_TRUE(client_->Put("src", src, call).ok());
  // UploadPartCopy: the object rebuilt from two ranges of the source, the
  // second in a different order of bytes than a plain copy would give.
  auto id = client_->CreateMultipart("dst/parts", call);
  ASSERT_TRUE(id.ok());
  auto c1 = client_->UploadPartCopy("dst/parts", *id, 1, "src", kMiB, 5 * kMiB, call);
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  auto c2 = client_->UploadPartCopy("dst/parts", *id, 2, "src", 0, kMiB, call);
  ASSERT_TRUE(c2.ok()) << c2.status().ToString();
  ASSERT_TRUE(client_->CompleteMultipart("dst/parts", *id, {{1, *c1}, {2, *c2}}, call).ok());
  auto got = GetAll("dst/parts");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Sha256Of(*got).hex, Sha256Of(src.substr(kMiB, 5 * kMiB) + src.substr(0, kMiB)).hex);

  ASSERT_TRUE(client_->Copy("src", "dst/copy", call).ok());
  auto copy = GetAll("dst/copy");
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(Sha256Of(*copy).hex, Sha256Of(src).hex);

  Status missing = client_->Copy("no/such/source", "dst/x", call);
  EXPECT_EQ(missing.code(), Code::kNotFound) << missing.ToString();
  auto id2 = client_->CreateMultipart("dst/y", call);
  ASSERT_TRUE(id2.ok());
  auto bad = client_->UploadPartCopy("dst/y", *id2, 1, "no/such/source", 0, 10, call);
  EXPECT_EQ(bad.status().code(), Code::kNotFound) << bad.status().ToString();
  ASSERT_TRUE(client_->AbortMultipart("dst/y", *id2, call).ok());
}

TEST_F(S3Rgw, PresignedGet) {
  Call call;
  ASSERT_TRUE(client_->Put("shared/file", "presigned bytes", call).ok());
  auto transport = client::Transport::Create({});
  ASSERT_TRUE(transport.ok());
  auto fetch = [&](const std::string& url) -> client::HttpResponse {
    client::HttpRequest req;
    req.method = "GET";
    auto u = client::Url::Parse(url);
    EXPECT_TRUE(u.ok()) << url;
    if (u.ok()) req.url = *u;
    Call c;
    auto r = (*transport)->Send(req, c);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : client::HttpResponse();
  };
  const int64_t now = std::time(nullptr);
  const std::string url = client_->PresignGet("shared/file", 300, now);
  ASSERT_FALSE(url.empty());
  EXPECT_EQ(url.find(rgw().secret_key), std::string::npos);
  auto ok = fetch(url);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "presigned bytes");

  std::string tampered = url;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(fetch(tampered).status, 403);
  std::string other_key = url;
  other_key.replace(other_key.find("shared/file"), 11, "shared/fil2");
  EXPECT_EQ(fetch(other_key).status, 403);
  auto expired = fetch(client_->PresignGet("shared/file", 60, now - 3600));
  EXPECT_EQ(expired.status, 403);
}

TEST_F(S3Rgw, WrongCredentialsAreFailedPreconditionWithoutTheSecret) {
  const std::string wrong = "definitely-not-the-secret-0123456789";
  auto bad = Make(wrong);
  ASSERT_NE(bad, nullptr);
  Call call;
  Status s = bad->Put("k", "v", call);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("SignatureDoesNotMatch"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("PutObject 'k'"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(wrong), std::string::npos);
  EXPECT_EQ(s.message().find(rgw().secret_key), std::string::npos);
  EXPECT_EQ(call.error.kind, client::ErrorKind::kAuth);
  EXPECT_EQ(call.error.http_status, 403);
  EXPECT_EQ(call.error.registry_code, "SignatureDoesNotMatch");

  auto stranger = Make(rgw().secret_key, "NOSUCHACCESSKEY00000");
  ASSERT_NE(stranger, nullptr);
  auto list = stranger->List("", "", 10, call);
  EXPECT_EQ(list.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(list.status().message().find("InvalidAccessKeyId"), std::string::npos) << list.status().message();
}

TEST_F(S3Rgw, MissingBucketIsNotFound) {
  bucket_ = "no-such-bucket-here";
  auto other = Make(rgw().secret_key);
  ASSERT_NE(other, nullptr);
  Call call;
  auto list = other->List("", "", 10, call);
  EXPECT_EQ(list.status().code(), Code::kNotFound) << list.status().ToString();
  EXPECT_NE(list.status().message().find("NoSuchBucket"), std::string::npos);
  EXPECT_NE(list.status().message().find("no-such-bucket-here"), std::string::npos);
}

// 32 MiB up from a file and down into a sink that only counts and hashes:
// neither direction holds the object in memory.
TEST_F(S3Rgw, StreamedPutFileAndGet) {
  testing::TempDir tmp("pier-s3");
  const auto path = tmp.path() / "blob";
  Sha256 want;
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    for (uint32_t i = 0; i < 32; ++i) {
      const std::string chunk = Pattern(kMiB, 100 + i);
      want.Update(chunk);
      ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
    }
    ::close(fd);
  }
  const std::string want_hex = want.Finish().hex;
  Call call;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Status put = client_->PutFile("blob", {fd, 0, 32 * kMiB}, call);
  ::close(fd);
  ASSERT_TRUE(put.ok()) << put.ToString();

  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  Sha256 got;
  uint64_t bytes = 0;
  size_t largest = 0;
  client::BodySink sink = [&](const client::HttpResponse&, std::span<const char> d) {
    got.Update(d);
    bytes += d.size();
    largest = std::max(largest, d.size());
    return Status::OK();
  };
  call.blob_size.reset();
  auto info = client_->Get("blob", 0, std::nullopt, sink, call);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_EQ(bytes, 32 * kMiB);
  EXPECT_EQ(info->size, 32 * kMiB);
  EXPECT_EQ(call.blob_size, 32 * kMiB);
  EXPECT_EQ(got.Finish().hex, want_hex);
  EXPECT_LE(largest, 1 * kMiB);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 16 * 1024) << "peak RSS grew by more than 16 MiB (KiB units)";

  // A sink's refusal stops the download and comes back as it was.
  client::BodySink refuse = [](const client::HttpResponse&, std::span<const char>) {
    return Status::ResourceExhausted("disk full");
  };
  auto refused = client_->Get("blob", 0, std::nullopt, refuse, call);
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().ToString();
  // And the client still works afterwards (its broken connection dropped).
  auto head = client_->Head("blob", call);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 32 * kMiB);
}

}  // namespace
}  // namespace pier::s3
