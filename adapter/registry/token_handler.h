#pragma once
// Pier's Docker token realm endpoint, /token (distribution's token spec):
//
//   GET /token?service=S&scope=repository:team/app:pull,push&scope=...&account=U
//       with optional Basic credentials (none = anonymous);
//   POST /token, form-encoded, grant_type=password with username/password
//       (the OAuth2 variant; refresh tokens are not supported).
//
// Answers {"token","access_token","expires_in","issued_at"} with a JWT
// whose access claim is the requested scopes ∩ the ACL (token.h). Wrong
// credentials: 401 + JSON error. Malformed scope, a service other than
// Pier's, an account that contradicts the credentials: 400 naming it.
// Tokens and passwords are never logged.
#include <memory>
#include <string>

#include "adapter/auth/auth.h"
#include "adapter/auth/token.h"
#include "adapter/http/message.h"

namespace pier::registry {

struct TokenHandlerOptions {
  std::string basic_realm = "pier";  // realm of the Basic challenge on a 401
  bool access_log = true;
};

// Serves /token; every other path goes to `next`.
class TokenHandler : public http::Handler {
 public:
  TokenHandler(std::shared_ptr<const auth::TokenService> tokens, std::shared_ptr<auth::Authorizer> authorizer,
               TokenHandlerOptions options, std::shared_ptr<http::Handler> next);
  http::Exchange Begin(const http::Request& request) override;

 private:
  std::shared_ptr<const auth::TokenService> tokens_;
  std::shared_ptr<auth::Authorizer> authorizer_;
  TokenHandlerOptions options_;
  std::shared_ptr<http::Handler> next_;
};

}  // namespace pier::registry
