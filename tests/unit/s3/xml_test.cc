// S3's XML answers: the reader (entities, shape errors, bounds) and the
// parsers for each answer, on documents shaped like AWS's examples.
#include <gtest/gtest.h>

#include <random>

#include "cache/s3/answers.h"
#include "cache/s3/times.h"
#include "cache/s3/xml.h"

namespace pier::s3 {
namespace {

constexpr const char* kList = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>examplebucket</Name><Prefix>a</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>a/b&amp;c &lt;d&gt; &quot;e&quot; &apos;f&apos; &#233;&#x4E2D;</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <Size>434234</Size><StorageClass>STANDARD</StorageClass>
  </Contents>
  <!-- a comment -->
  <Contents><Key>a/z</Key><LastModified>2024-02-29T00:00:00Z</LastModified><ETag>"x-2"</ETag><Size>0</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";

TEST(S3Xml, ListBucketResultWithEntities) {
  auto page = ParseListV2(kList);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "a/b&c <d> \"e\" 'f' \xC3\xA9\xE4\xB8\xAD");
  EXPECT_EQ(page->objects[0].size, 434234u);
  EXPECT_EQ(page->objects[0].etag, "fba9dede5f27731c9771645a39863328");
  EXPECT_EQ(page->objects[0].last_modified_unix, 1255369830);
  EXPECT_EQ(page->objects[1].key, "a/z");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_EQ(page->objects[1].etag, "x-2");
  EXPECT_EQ(page->objects[1].last_modified_unix, 1709164800);
  EXPECT_EQ(page->next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3Xml, LastPageHasNoToken) {
  auto page = ParseListV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_EQ(page->next_token, "");
}

TEST(S3Xml, ListErrorsAreInternal) {
  for (const char* doc : {
           "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",  // would loop forever
           "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
           "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>1x</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>99999999999999999999999</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>1</Size><LastModified>yesterday</LastModified>"
           "</Contents></ListBucketResult>",
           "<Error><Code>NoSuchBucket</Code></Error>",
           "",
       }) {
    auto page = ParseListV2(doc);
    ASSERT_FALSE(page.ok()) << doc;
    EXPECT_EQ(page.status().code(), Code::kInternal) << doc;
  }
}

TEST(S3Xml, ErrorDocument) {
  auto e = ParseError(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The resource &lt;x&gt; does not exist.</Message>
<Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The resource <x> does not exist.");
  EXPECT_FALSE(ParseError("<CompleteMultipartUploadResult/>").has_value());
  EXPECT_FALSE(ParseError("<Error><Code>x</Code>").has_value());  // truncated
  EXPECT_FALSE(ParseError("not xml at all").has_value());
}

TEST(S3Xml, OtherAnswers) {
  auto id = ParseUploadId(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
      "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  EXPECT_FALSE(ParseUploadId("<InitiateMultipartUploadResult/>").ok());

  auto copy = ParseCopyEtag(
      "<CopyObjectResult><LastModified>2009-10-28T22:32:00Z</LastModified>"
      "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>");
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(*copy, "9b2cf535f27731c974343645a3985328");
  auto part = ParseCopyEtag("<CopyPartResult><ETag>&quot;abc&quot;</ETag></CopyPartResult>");
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(*part, "abc");
  EXPECT_FALSE(ParseCopyEtag("<Error><Code>InternalError</Code></Error>").ok());

  auto del = ParseDeleteErrors(
      "<DeleteResult><Deleted><Key>a</Key></Deleted>"
      "<Error><Key>b&amp;c</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>");
  ASSERT_TRUE(del.ok());
  ASSERT_EQ(del->size(), 1u);
  EXPECT_EQ((*del)[0].key, "b&c");
  EXPECT_EQ((*del)[0].code, "AccessDenied");
  auto none = ParseDeleteErrors("<DeleteResult/>");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(S3Xml, EntityEdgeCases) {
  EXPECT_EQ(*xml::DecodeEntities("&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;"), "&<>\"'AB\xF0\x9F\x98\x80");
  EXPECT_EQ(*xml::DecodeEntities("plain"), "plain");
  for (const char* bad : {"&", "&amp", "&nbsp;", "&#;", "&#x;", "&#0;", "&#xD800;", "&#x110000;", "&#12a;",
                          "&#99999999999;", "&X43;", "&#X43;"}) {
    EXPECT_FALSE(xml::DecodeEntities(bad).ok()) << bad;
  }
  EXPECT_EQ(xml::Escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&apos;");
  EXPECT_EQ(*xml::DecodeEntities(xml::Escape("k&<>\"'/x")), "k&<>\"'/x");
}

TEST(S3Xml, MalformedDocumentsAreErrors) {
  for (const char* doc : {"", "   ", "<", "<a", "<a>", "<a></b>", "<a><b></a></b>", "<a/><b/>", "<a/>x",
                          "<a x=1/>", "<a x=\"1/>", "<a x=\"<\"/>", "<a>&bogus;</a>", "<!DOCTYPE a><a/>",
                          "<a><?pi?></a>", "<a><!-- open</a>", "<?xml version=\"1.0\"", "<1a/>", "</a>",
                          "<a><![CDATA[x</a>"}) {
    auto r = xml::Parse(doc);
    EXPECT_FALSE(r.ok()) << doc;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << doc;
    }
  }
  auto ok = xml::Parse("\xEF\xBB\xBF <?xml version='1.0'?>\n<a k='v' j=\"w\"><b/><![CDATA[<raw>]]></a>\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->text, "<raw>");
  EXPECT_NE(ok->Child("b"), nullptr);
}

TEST(S3Xml, DepthAndCountAreBounded) {
  std::string deep;
  for (size_t i = 0; i < xml::kMaxDepth + 1; ++i) deep += "<a>";
  for (size_t i = 0; i < xml::kMaxDepth + 1; ++i) deep += "</a>";
  EXPECT_FALSE(xml::Parse(deep).ok());
  std::string many = "<r>";
  for (size_t i = 0; i < xml::kMaxElements; ++i) many += "<a/>";
  many += "</r>";
  EXPECT_FALSE(xml::Parse(many).ok());
  // A million nested opens must not exhaust the stack.
  EXPECT_FALSE(xml::Parse(std::string(1'000'000, '<')).ok());
  std::string nested;
  for (int i = 0; i < 100'000; ++i) nested += "<a>";
  EXPECT_FALSE(xml::Parse(nested).ok());
}

// Every prefix of a valid answer and random corruptions of it: errors,
// never a crash (ASan builds make this a real check).
TEST(S3Xml, TruncatedAndGarbledInput) {
  const std::string doc = kList;
  for (size_t n = 0; n < doc.size(); ++n) {
    EXPECT_FALSE(ParseListV2(doc.substr(0, n)).ok()) << n;
  }
  std::mt19937 rng(14);
  for (int i = 0; i < 2000; ++i) {
    std::string g = doc;
    for (int k = 0; k < 4; ++k) g[rng() % g.size()] = static_cast<char>(rng() % 256);
    (void)ParseListV2(g);
    (void)ParseError(g);
  }
}

TEST(S3Times, Formats) {
  EXPECT_EQ(FormatAmzDate(1369353600), "20130524T000000Z");
  EXPECT_EQ(ParseIso8601("2013-05-24T00:00:00.123Z"), 1369353600);
  EXPECT_EQ(ParseIso8601("2013-05-24T00:00:00Z"), 1369353600);
  EXPECT_EQ(ParseHttpDate("Fri, 24 May 2013 00:00:00 GMT"), 1369353600);
  for (const char* bad : {"", "2013-05-24", "2013-05-24T00:00:00", "2013-05-24T00:00:00.Z", "2013-13-24T00:00:00Z",
                          "2013-05-24T00:00:00.1234567890Z", "x013-05-24T00:00:00Z"}) {
    EXPECT_FALSE(ParseIso8601(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseHttpDate("Fri, 24 Foo 2013 00:00:00 GMT").has_value());
  EXPECT_FALSE(ParseHttpDate("Fri, 24 May 2013 00:00:00 UTC").has_value());
}

}  // namespace
}  // namespace pier::s3
