#include "cache/s3/answers.h"

#include <charconv>

#include "cache/s3/times.h"
#include "cache/s3/xml.h"

namespace pier::s3 {
namespace {

Result<xml::Element> Root(std::string_view body, std::string_view want) {
  auto doc = xml::Parse(body);
  if (!doc.ok()) return Status::Internal("S3 answer is not XML: " + doc.status().message());
  if (doc->name != want) return Status::Internal("S3 answer is <" + doc->name + ">, expected <" + std::string(want) + ">");
  return std::move(doc).value();
}

Result<ObjectInfo> Object(const xml::Element& c) {
  ObjectInfo o;
  o.key = c.ChildText("Key");
  if (o.key.empty()) return Status::Internal("S3 list entry without a Key");
  const std::string size = c.ChildText("Size");
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
  if (size.empty() || ec != std::errc() || end != size.data() + size.size()) {
    return Status::Internal("S3 list entry with a bad Size: '" + size.substr(0, 32) + "'");
  }
  o.etag = StripQuotes(c.ChildText("ETag"));
  if (const xml::Element* lm = c.Child("LastModified")) {
    auto t = ParseIso8601(lm->text);
    if (!t) return Status::Internal("S3 list entry with a bad LastModified: '" + lm->text.substr(0, 40) + "'");
    o.last_modified_unix = *t;
  }
  return o;
}

}  // namespace

std::string StripQuotes(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  // Some stores send the quotes as entities already decoded; others none.
  return std::string(etag);
}

std::optional<S3Error> ParseError(std::string_view body) {
  auto doc = xml::Parse(body);
  if (!doc.ok() || doc->name != "Error") return std::nullopt;
  return S3Error{doc->ChildText("Code"), doc->ChildText("Message"), doc->ChildText("Key")};
}

Result<ListPage> ParseListV2(std::string_view body) {
  auto root = Root(body, "ListBucketResult");
  if (!root.ok()) return root.status();
  ListPage page;
  for (const xml::Element* c : root->Children("Contents")) {
    auto o = Object(*c);
    if (!o.ok()) return o.status();
    page.objects.push_back(std::move(o).value());
  }
  const std::string truncated = root->ChildText("IsTruncated");
  if (truncated == "true") {
    page.next_token = root->ChildText("NextContinuationToken");
    if (page.next_token.empty()) return Status::Internal("S3 list page is truncated but has no NextContinuationToken");
  } else if (truncated != "false" && !truncated.empty()) {
    return Status::Internal("S3 list page with a bad IsTruncated: '" + truncated.substr(0, 16) + "'");
  }
  return page;
}

Result<std::string> ParseUploadId(std::string_view body) {
  auto root = Root(body, "InitiateMultipartUploadResult");
  if (!root.ok()) return root.status();
  std::string id = root->ChildText("UploadId");
  if (id.empty()) return Status::Internal("S3 InitiateMultipartUploadResult without an UploadId");
  return id;
}

Result<std::string> ParseCopyEtag(std::string_view body) {
  auto doc = xml::Parse(body);
  if (!doc.ok()) return Status::Internal("S3 copy answer is not XML: " + doc.status().message());
  if (doc->name != "CopyObjectResult" && doc->name != "CopyPartResult") {
    return Status::Internal("S3 copy answer is <" + doc->name + ">");
  }
  std::string etag = StripQuotes(doc->ChildText("ETag"));
  if (etag.empty()) return Status::Internal("S3 copy answer without an ETag");
  return etag;
}

Result<std::vector<S3Error>> ParseDeleteErrors(std::string_view body) {
  auto root = Root(body, "DeleteResult");
  if (!root.ok()) return root.status();
  std::vector<S3Error> out;
  for (const xml::Element* e : root->Children("Error")) {
    out.push_back({e->ChildText("Code"), e->ChildText("Message"), e->ChildText("Key")});
  }
  return out;
}

}  // namespace pier::s3
