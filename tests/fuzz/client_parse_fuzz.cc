// What a remote registry answers, as the client parses it: WWW-Authenticate
// challenges, Link pagination, upload Range, token replies, OCI error bodies
// and Retry-After. All take the same input; none may throw or crash.
#include <cctype>
#include <cstddef>
#include <cstdint>

#include "adapter/client/parse.h"
#include "tests/fuzz/fuzz_check.h"

namespace pc = pier::client;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  for (const auto& c : pc::ParseChallenges(text)) {
    FUZZ_CHECK(!c.scheme.empty(), "a challenge has a scheme");
    for (char ch : c.scheme)
      FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(ch)), "schemes are lower-cased");
    for (const auto& [name, value] : c.params) {
      for (char ch : name)
        FUZZ_CHECK(!std::isupper(static_cast<unsigned char>(ch)), "param names are lower-cased");
      (void)value;
    }
    (void)c.Param("realm");
  }
  (void)pc::ParseNextLink(text);
  auto committed = pc::ParseUploadRange(text);
  if (!committed.ok()) {
    FUZZ_CHECK(committed.status().code() == pier::Code::kInvalidArgument,
               "Range refusals are InvalidArgument");
  }
  auto token = pc::ParseTokenReply(text);
  if (token.ok())
    FUZZ_CHECK(!token->token.empty() && token->expires_in > 0, "a token reply has a token and a lifetime");
  (void)pc::ParseErrorBody(text);
  (void)pc::ParseRetryAfter(text, 1'796'204'731);
  return 0;
}
