#pragma once
// ES256 JSON Web Tokens (RFC 7515 / 7518 §3.4), compact form only:
// base64url(header) "." base64url(payload) "." base64url(r || s).
// This is the one algorithm Pier signs with and the only one it accepts;
// tokens saying "none", "HS256" or anything else are refused before any
// cryptography runs, so an attacker cannot pick the algorithm.
#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace pier::auth {

// Base64url without padding (RFC 4648 §5), as JWTs use it.
std::string Base64UrlEncode(std::string_view in);
// Accepts input with or without '=' padding; false on any other character
// and on non-canonical input (non-zero bits past the data in the last char).
bool Base64UrlDecode(std::string_view in, std::string* out);

// Signs `header_json` "." `payload_json` with an EC P-256 private key and
// returns the compact token. The header must already say "alg":"ES256".
Result<std::string> SignEs256(std::string_view header_json, std::string_view payload_json, EVP_PKEY* key);

// The decoded parts of a token whose signature checked out.
struct VerifiedJwt {
  std::string header_json;
  std::string payload_json;
};

// Checks the shape, that the header's "alg" is exactly "ES256", and the
// signature under `key` (an EC P-256 public or private key). Claims are not
// looked at here. InvalidArgument with a short reason (never the token).
Result<VerifiedJwt> VerifyEs256(std::string_view token, EVP_PKEY* key);

}  // namespace pier::auth
