// S3's XML answers (cache/s3/answers.h): whatever an object store (or a
// proxy pretending to be one) sends, every parser returns a value or an
// error and never crashes, loops or reads out of bounds. A list page that
// says it is truncated always names the next page.
#include <cstddef>
#include <cstdint>

#include "cache/s3/answers.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = pier::fuzz::AsText(data, size);
  (void)pier::s3::ParseError(body);
  auto page = pier::s3::ParseListV2(body);
  if (page.ok()) {
    for (const auto& o : page->objects) FUZZ_CHECK(!o.key.empty(), "listed keys are not empty");
  }
  auto id = pier::s3::ParseUploadId(body);
  if (id.ok()) FUZZ_CHECK(!id->empty(), "an upload id is not empty");
  (void)pier::s3::ParseCopyEtag(body);
  (void)pier::s3::ParseDeleteErrors(body);
  return 0;
}
