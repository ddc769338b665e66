// "Authorization: Basic ..." values and the base64 under them. Parsed
// credentials, re-encoded, parse back to the same user and password; a
// decoded base64 value re-encodes and decodes to itself.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "adapter/auth/basic.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string EncodeBase64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  auto creds = pier::auth::ParseBasicAuthorization(text);
  if (creds.ok()) {
    auto again =
        pier::auth::ParseBasicAuthorization("Basic " + EncodeBase64(creds->user + ":" + creds->password));
    FUZZ_CHECK(again.ok() && again->user == creds->user && again->password == creds->password,
               "Basic credentials round-trip");
    FUZZ_CHECK(creds->user.find(':') == std::string::npos, "the user name ends at the first colon");
  } else {
    FUZZ_CHECK(creds.status().code() == pier::Code::kInvalidArgument, "Basic refuses with InvalidArgument");
  }
  std::string decoded;
  if (pier::auth::DecodeBase64(text, &decoded)) {
    std::string back;
    FUZZ_CHECK(pier::auth::DecodeBase64(EncodeBase64(decoded), &back) && back == decoded,
               "base64 round-trips");
  }
  return 0;
}
