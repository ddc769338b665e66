#pragma once
// Reads S3's XML answer bodies into values. Every parser takes the whole
// (already size-bounded) body and fails with Internal, naming what was
// wrong, when the body is malformed or lacks a field it must have; none
// crashes on garbage.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "cache/s3/types.h"

namespace pier::s3 {

struct S3Error {
  std::string code;     // "NoSuchKey", "SignatureDoesNotMatch", ...
  std::string message;  // S3's human text, possibly empty
  std::string key;      // DeleteResult errors: the key that failed
};

// The <Error> document of an error answer (also sent with 200 by
// CompleteMultipartUpload and CopyObject); nullopt when `body` is not one.
std::optional<S3Error> ParseError(std::string_view body);

// ListObjectsV2's ListBucketResult. A truncated page without a
// NextContinuationToken is an error (a caller would loop forever).
Result<ListPage> ParseListV2(std::string_view body);

// InitiateMultipartUploadResult/UploadId.
Result<std::string> ParseUploadId(std::string_view body);

// The ETag of CopyObjectResult or CopyPartResult, quotes removed.
Result<std::string> ParseCopyEtag(std::string_view body);

// DeleteResult's <Error> entries (empty when every key was deleted).
Result<std::vector<S3Error>> ParseDeleteErrors(std::string_view body);

// `"abc"` -> `abc`; anything else unchanged.
std::string StripQuotes(std::string_view etag);

}  // namespace pier::s3
