#pragma once
// Internal: how the client authenticates to one registry.
//
// The scheme is learned from a 401's WWW-Authenticate (or from the probe
// GET /v2/): Basic sends the credentials on every request to the registry's
// origin; Bearer (the Docker token protocol, Aliyun ACR's realm flow) trades
// them at the realm for a token per scope set, cached until it expires and
// dropped when the registry answers 401. Nothing here logs a secret.
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "adapter/client/call.h"
#include "adapter/client/transport.h"
#include "adapter/client/url.h"
#include "base/clock.h"
#include "base/status.h"

namespace pier::client {

struct Credentials {
  std::string username;  // empty: anonymous
  std::string password;
};

class Authenticator {
 public:
  // Tokens are cached by `clock`'s monotonic time (it must outlive this).
  Authenticator(Transport* transport, Url registry, Credentials credentials,
                const Clock& clock = SystemClock());

  // True once a challenge (or an open GET /v2/) told us the scheme.
  bool known() const;

  // Records what an answer from the registry says about its auth scheme:
  // a 2xx to an unauthenticated probe means none (until a 401 says
  // otherwise); a 401 carries the challenge.
  void Learn(const HttpResponse& response);

  // Adds the Authorization header `request` needs for `scopes`
  // ("repository:a/b:pull,push", "registry:catalog:*"), fetching a token if
  // the scheme is Bearer and none is cached. Requests to another origin
  // (redirect targets) get none. Failure: the token realm refused (kAuth),
  // could not be reached (kNetwork/kTls/kTimeout/kCancelled) or answered
  // something unusable (kProtocol, kRemote5xx...).
  Status Authorize(Call& call, const std::vector<std::string>& scopes, HttpRequest& request);

  // After a 401 from the registry: learns the challenge, drops the token
  // used for `scopes`, and adds any scope the challenge names to `scopes`.
  // Returns true when sending the request again may succeed.
  bool OnUnauthorized(const HttpResponse& response, std::vector<std::string>& scopes);

  // The scope strings the client asks for.
  static std::string RepositoryScope(std::string_view repo, std::string_view actions);

 private:
  enum class Scheme { kUnknown, kNone, kBasic, kBearer };
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };

  static std::string CacheKey(const std::vector<std::string>& scopes);
  Result<std::string> FetchToken(Call& call, const std::vector<std::string>& scopes);
  std::string BasicHeader() const;

  Transport* transport_;
  const Clock& clock_;
  Url registry_;
  Credentials credentials_;

  mutable std::mutex mu_;
  Scheme scheme_ = Scheme::kUnknown;
  std::string realm_;
  std::string service_;
  std::map<std::string, Token> tokens_;  // by sorted scope set
};

}  // namespace pier::client
