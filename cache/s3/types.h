#pragma once
// Plain values the S3 client returns (client.h) and its answer parsers fill
// (answers.h).
#include <cstdint>
#include <string>
#include <vector>

namespace pier::s3 {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without the surrounding quotes S3 puts around it
  int64_t last_modified_unix = 0;
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::string next_token;  // empty: this was the last page
};

struct Part {
  int number = 0;
  std::string etag;  // as UploadPart returned it (quotes optional)
};

}  // namespace pier::s3
