#pragma once
// A running Pier's /api/v2.0 as the command-line tools (`pier replicate`,
// `pier report`) call it: base URL, Basic credentials from --user and
// --password-file or $PIER_PASSWORD (never from the command line, where
// `ps` shows them), TLS verification unless --insecure.
#include <map>
#include <memory>
#include <string>

#include "adapter/client/transport.h"
#include "adapter/client/url.h"
#include "base/status.h"

namespace pier::cli {

class ApiClient {
 public:
  ApiClient(client::Url base, std::unique_ptr<client::Transport> t, std::string auth)
      : base_(std::move(base)), t_(std::move(t)), auth_(std::move(auth)) {}
  // `path` is relative to /api/v2.0 ("/report?...").
  Result<client::HttpResponse> Call(const std::string& method, const std::string& path, const std::string& body);

 private:
  client::Url base_;
  std::unique_ptr<client::Transport> t_;
  std::string auth_;
};

// From the flags server (default http://127.0.0.1:5000), user,
// password-file, insecure. InvalidArgument naming the flag.
Result<std::unique_ptr<ApiClient>> ConnectApi(const std::map<std::string, std::string>& flags,
                                              const std::string& user_agent);

// "404 no such manifest" from a Harbor-shaped error body, else "HTTP 404".
std::string ErrorText(const client::HttpResponse& r);
// RFC 3986 unreserved characters kept, everything else %XX.
std::string PercentEncode(const std::string& s);

}  // namespace pier::cli
