// Bearer tokens as clients present them, and the JWT pieces underneath.
// The first input byte picks what the rest is:
//   0: a compact token → VerifyEs256 and TokenService::Verify (shape,
//      base64url, header and alg checks run before any signature check);
//   1: a claims payload, signed here with the service's own key, so
//      TokenService::Verify reaches claims parsing (iss, aud, exp, nbf,
//      sub, access) with a valid signature;
//   2: a JOSE header, signed here: VerifyEs256 accepts it exactly when it is
//      a JSON object whose "alg" is "ES256", and returns both parts intact;
//   3: base64url text: a decoded value re-encodes to the input (no '='),
//      since only canonical spellings are accepted;
//   other: an Authorization header → ParseBearerAuthorization.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "adapter/auth/auth.h"
#include "adapter/auth/jwt.h"
#include "adapter/auth/token.h"
#include "adapter/auth/token_key.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr int64_t kNow = 1'780'000'000;  // a fixed "now" keeps runs reproducible

struct Realm {
  std::filesystem::path dir;
  std::unique_ptr<pier::auth::TokenService> service;

  Realm() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pier-jwt-fuzz-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr, "a temporary directory for the token key");
    dir = tmpl;
    auto key = pier::auth::TokenKey::LoadOrCreate(dir);
    FUZZ_CHECK(key.ok(), "a token key is generated");
    auto authorizer = std::make_shared<const pier::auth::Authorizer>(
        std::nullopt, std::vector<pier::auth::AclRule>{}, false);
    service = std::make_unique<pier::auth::TokenService>(*key, authorizer, pier::auth::TokenOptions{});
  }
  ~Realm() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Realm& TheRealm() {
  static Realm realm;
  return realm;
}

void CheckVerifiedIdentity(const pier::Result<pier::auth::Identity>& who) {
  if (!who.ok()) {
    FUZZ_CHECK(who.status().code() == pier::Code::kInvalidArgument, "Verify refuses with InvalidArgument");
    return;
  }
  FUZZ_CHECK(who->grants != nullptr, "a verified token carries its grants");
  FUZZ_CHECK(who->anonymous == who->user.empty(), "anonymous exactly when there is no subject");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Realm& realm = TheRealm();
  EVP_PKEY* key = realm.service->key().pkey();
  std::string_view rest = pier::fuzz::AsText(data + 1, size - 1);
  switch (data[0]) {
    case 0: {
      auto jwt = pier::auth::VerifyEs256(rest, key);
      FUZZ_CHECK(!jwt.ok(), "a token not signed by this key never verifies");
      CheckVerifiedIdentity(realm.service->Verify(rest, kNow));
      break;
    }
    case 1: {
      auto token = pier::auth::SignEs256(R"({"typ":"JWT","alg":"ES256"})", rest, key);
      FUZZ_CHECK(token.ok(), "signing works");
      auto jwt = pier::auth::VerifyEs256(*token, key);
      FUZZ_CHECK(jwt.ok() && jwt->payload_json == rest, "a signed payload verifies and comes back intact");
      CheckVerifiedIdentity(realm.service->Verify(*token, kNow));
      break;
    }
    case 2: {
      auto token = pier::auth::SignEs256(rest, "{}", key);
      FUZZ_CHECK(token.ok(), "signing works");
      auto jwt = pier::auth::VerifyEs256(*token, key);
      auto header = nlohmann::json::parse(rest, nullptr, false);
      bool es256 = !header.is_discarded() && header.is_object() && header.contains("alg") &&
                   header["alg"].is_string() && header["alg"].get<std::string>() == "ES256";
      FUZZ_CHECK(jwt.ok() == es256, "exactly the ES256 headers verify");
      if (jwt.ok())
        FUZZ_CHECK(jwt->header_json == rest && jwt->payload_json == "{}", "parts come back intact");
      break;
    }
    case 3: {
      std::string decoded;
      if (pier::auth::Base64UrlDecode(rest, &decoded)) {
        std::string_view unpadded = rest;
        while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
        FUZZ_CHECK(pier::auth::Base64UrlEncode(decoded) == unpadded, "base64url decoding is canonical");
      }
      break;
    }
    default: {
      std::string_view token;
      if (pier::auth::ParseBearerAuthorization(rest, &token)) {
        FUZZ_CHECK(!token.empty(), "a Bearer header yields a token");
        CheckVerifiedIdentity(realm.service->Verify(token, kNow));
      }
      break;
    }
  }
  return 0;
}
