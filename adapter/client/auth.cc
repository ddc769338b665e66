#include "adapter/client/auth.h"

#include <openssl/evp.h>

#include <algorithm>

#include "adapter/client/errors.h"
#include "adapter/client/parse.h"
#include "base/log.h"

namespace pier::client {
namespace {

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

// The challenge we act on: Bearer when offered, else Basic.
const Challenge* Pick(const std::vector<Challenge>& challenges) {
  const Challenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer") return &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  return basic;
}

std::vector<Challenge> ChallengesOf(const HttpResponse& r) {
  std::vector<Challenge> out;
  for (const std::string& v : r.HeaderAll("www-authenticate")) {
    auto more = ParseChallenges(v);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

}  // namespace

Authenticator::Authenticator(Transport* transport, Url registry, Credentials credentials, const Clock& clock)
    : transport_(transport), clock_(clock), registry_(std::move(registry)), credentials_(std::move(credentials)) {}

std::string Authenticator::RepositoryScope(std::string_view repo, std::string_view actions) {
  return "repository:" + std::string(repo) + ":" + std::string(actions);
}

bool Authenticator::known() const {
  std::lock_guard lock(mu_);
  return scheme_ != Scheme::kUnknown;
}

void Authenticator::Learn(const HttpResponse& response) {
  std::lock_guard lock(mu_);
  if (response.status == 401) {
    std::vector<Challenge> all = ChallengesOf(response);
    const Challenge* c = Pick(all);
    if (c == nullptr) return;
    if (c->scheme == "bearer") {
      scheme_ = Scheme::kBearer;
      realm_ = c->Param("realm");
      service_ = c->Param("service");
    } else {
      scheme_ = Scheme::kBasic;
    }
  } else if (response.status / 100 == 2 && scheme_ == Scheme::kUnknown) {
    scheme_ = Scheme::kNone;
  }
}

bool Authenticator::OnUnauthorized(const HttpResponse& response, std::vector<std::string>& scopes) {
  std::vector<Challenge> all = ChallengesOf(response);
  const Challenge* c = Pick(all);
  if (c == nullptr) return false;
  std::lock_guard lock(mu_);
  if (c->scheme == "basic") {
    bool had_basic = scheme_ == Scheme::kBasic;
    scheme_ = Scheme::kBasic;
    // Basic already went with the request: the credentials are wrong.
    return !had_basic && !credentials_.username.empty();
  }
  scheme_ = Scheme::kBearer;
  std::string realm = c->Param("realm");
  if (!realm.empty()) realm_ = realm;
  std::string service = c->Param("service");
  if (!service.empty()) service_ = service;
  tokens_.erase(CacheKey(scopes));
  // The challenge may name the scope this request needs (insufficient_scope).
  std::string wanted = c->Param("scope");
  size_t i = 0;
  while (i < wanted.size()) {
    size_t sp = wanted.find(' ', i);
    std::string s = wanted.substr(i, sp == std::string::npos ? std::string::npos : sp - i);
    if (!s.empty() && std::find(scopes.begin(), scopes.end(), s) == scopes.end()) scopes.push_back(s);
    if (sp == std::string::npos) break;
    i = sp + 1;
  }
  return true;
}

Status Authenticator::Authorize(Call& call, const std::vector<std::string>& scopes, HttpRequest& request) {
  if (request.url.Origin() != registry_.Origin()) return Status::OK();
  Scheme scheme;
  {
    std::lock_guard lock(mu_);
    scheme = scheme_;
  }
  if (scheme == Scheme::kBasic) {
    if (!credentials_.username.empty()) request.headers.emplace_back("Authorization", BasicHeader());
    return Status::OK();
  }
  if (scheme != Scheme::kBearer) return Status::OK();
  Result<std::string> token = FetchToken(call, scopes);
  if (!token.ok()) return token.status();
  request.headers.emplace_back("Authorization", "Bearer " + *token);
  return Status::OK();
}

std::string Authenticator::CacheKey(const std::vector<std::string>& scopes) {
  std::vector<std::string> sorted = scopes;
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& s : sorted) key += s + " ";
  return key;
}

std::string Authenticator::BasicHeader() const {
  return "Basic " + Base64(credentials_.username + ":" + credentials_.password);
}

Result<std::string> Authenticator::FetchToken(Call& call, const std::vector<std::string>& scopes) {
  std::string key = CacheKey(scopes);
  std::string realm;
  std::string service;
  {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(key);
    if (it != tokens_.end() && it->second.expires > clock_.Steady()) return it->second.value;
    realm = realm_;
    service = service_;
  }
  const std::string op = "token request to " + realm;
  if (realm.empty())
    return ClientFailure(call, ErrorKind::kAuth, "token request", "Bearer challenge without realm");
  Result<Url> url = Url::Parse(realm);
  if (!url.ok()) return ClientFailure(call, ErrorKind::kProtocol, op, url.status().message());
  if (!service.empty()) url->AddQuery("service", service);
  for (const auto& s : scopes) url->AddQuery("scope", s);
  if (!credentials_.username.empty()) url->AddQuery("account", credentials_.username);

  HttpRequest req;
  req.method = "GET";
  req.url = *url;
  if (!credentials_.username.empty()) req.headers.emplace_back("Authorization", BasicHeader());
  req.headers.emplace_back("Accept", "application/json");
  Result<HttpResponse> resp = transport_->Send(req, call);
  if (!resp.ok()) return Status(resp.status().code(), op + ": " + resp.status().message());
  if (resp->status != 200) {
    Status s = HttpFailure(clock_, call, op, *resp);
    // Whatever the realm's reason (bad password, unknown account), the
    // registry cannot be used with these credentials: an auth failure.
    if (resp->status / 100 == 4 && resp->status != 429) call.error.kind = ErrorKind::kAuth;
    return s;
  }
  Result<TokenReply> reply = ParseTokenReply(resp->body);
  if (!reply.ok()) return ClientFailure(call, ErrorKind::kProtocol, op, reply.status().message());
  // Refresh a little early so a token does not expire in flight.
  int64_t margin = std::min<int64_t>(10, reply->expires_in / 5);
  Token t{reply->token, clock_.Steady() + std::chrono::seconds(reply->expires_in - margin)};
  {
    std::lock_guard lock(mu_);
    tokens_[key] = t;
  }
  log::Debug("registry token obtained",
             {{"realm", realm}, {"scopes", key}, {"expires_in", std::to_string(reply->expires_in)}});
  return t.value;
}

}  // namespace pier::client
