#include "cmd/pier/api_client.h"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

namespace pier::cli {
namespace {

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

Result<client::HttpResponse> ApiClient::Call(const std::string& method, const std::string& path,
                                             const std::string& body) {
  auto url = base_.Resolve(std::string(base_.path() == "/" ? "" : base_.path()) + "/api/v2.0" + path);
  if (!url.ok()) return url.status();
  client::HttpRequest req;
  req.method = method;
  req.url = *url;
  req.body = body;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  if (!auth_.empty()) req.headers.emplace_back("Authorization", auth_);
  client::Call call;
  return t_->Send(req, call);
}

Result<std::unique_ptr<ApiClient>> ConnectApi(const std::map<std::string, std::string>& flags,
                                              const std::string& user_agent) {
  std::string server = flags.count("server") ? flags.at("server") : "http://127.0.0.1:5000";
  auto base = client::Url::Parse(server);
  if (!base.ok()) return Status::InvalidArgument("--server: " + base.status().message());
  std::string auth;
  if (flags.count("user")) {
    std::string password;
    if (flags.count("password-file")) {
      std::ifstream in(flags.at("password-file"));
      if (!in) return Status::InvalidArgument("--password-file: cannot read " + flags.at("password-file"));
      std::getline(in, password);
    } else if (const char* p = std::getenv("PIER_PASSWORD")) {
      password = p;
    }
    auth = "Basic " + Base64(flags.at("user") + ":" + password);
  }
  client::TransportOptions to;
  to.insecure = flags.count("insecure") && flags.at("insecure") != "false";
  to.user_agent = user_agent;
  auto transport = client::Transport::Create(to);
  if (!transport.ok()) return transport.status();
  return std::make_unique<ApiClient>(*base, std::move(*transport), auth);
}

std::string ErrorText(const client::HttpResponse& r) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_object()) {
    return std::to_string(r.status) + " " + j["errors"][0].value("message", "");
  }
  return "HTTP " + std::to_string(r.status);
}

}  // namespace pier::cli
