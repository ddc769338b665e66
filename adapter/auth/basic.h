#pragma once
// Internal to pier_auth: parsing of "Authorization: Basic ..." values.
#include <string>
#include <string_view>

#include "base/status.h"

namespace pier::auth {

// Decoded Basic credentials. The password is wiped from memory on destruction.
struct BasicCredentials {
  std::string user;
  std::string password;

  BasicCredentials() = default;
  BasicCredentials(BasicCredentials&&) = default;
  BasicCredentials& operator=(BasicCredentials&&) = default;
  BasicCredentials(const BasicCredentials&) = delete;
  BasicCredentials& operator=(const BasicCredentials&) = delete;
  ~BasicCredentials();
};

// Standard base64 (RFC 4648 §4); trailing '=' padding optional. Nullopt-like
// false when the input has characters outside the alphabet or a bad length.
bool DecodeBase64(std::string_view in, std::string* out);

// Parses "Basic <base64(user:password)>": scheme case-insensitive, extra
// spaces/tabs tolerated around and between the parts. InvalidArgument for any
// other scheme or malformed credentials; messages never echo the input.
Result<BasicCredentials> ParseBasicAuthorization(std::string_view value);

}  // namespace pier::auth
