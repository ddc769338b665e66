#include "cmd/pier/report_command.h"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cmd/pier/api_client.h"
#include "replication/advisor/report_text.h"

namespace pier::cli {
namespace {

const char* const kUsageText =
    "usage: pier report [--server URL] [--user USER] [--password-file FILE] [--insecure]\n"
    "                   REPO:TAG|REPO@sha256:... [--against TAG] [--json] [--no-content]\n"
    "  What a pushed build costs each replication destination and what in it changes.\n"
    "  --server URL      Pier's base URL (default http://localhost:5000)\n"
    "  --against TAG     compare with this build (default: the tag pushed before this one)\n"
    "  --json            print the API's JSON instead of tables\n"
    "  --no-content      sizes, sharing and destinations only (do not read the layers)\n"
    "  --user USER       a user who may pull the repository; the password comes from\n"
    "                    --password-file or $PIER_PASSWORD\n"
    "  Exit status: 0 report printed, 1 refused by the server, 2 usage or connection errors.\n";

int Die(const std::string& what, int code) {
  std::fprintf(stderr, "pier report: %s\n", what.c_str());
  return code;
}

}  // namespace

const char* const kReportUsage = kUsageText;

int Report(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  std::string image;
  bool json_out = false, content = true;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsageText, stdout);
      return 0;
    }
    if (a == "--json") {
      json_out = true;
    } else if (a == "--no-content") {
      content = false;
    } else if (a == "--insecure") {
      flags["insecure"] = "true";
    } else if (a.starts_with("--")) {
      std::string key = a.substr(2), value;
      if (auto eq = key.find('='); eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return Die("flag " + a + " needs a value\n" + kUsageText, 2);
      }
      if (key != "server" && key != "user" && key != "password-file" && key != "against") {
        return Die("unknown flag " + a + "\n" + kUsageText, 2);
      }
      flags[key] = value;
    } else if (image.empty()) {
      image = a;
    } else {
      return Die("unexpected argument " + a + "\n" + kUsageText, 2);
    }
  }
  if (image.empty()) return Die(std::string("REPO:TAG is required\n") + kUsageText, 2);
  // REPO@sha256:..., else REPO:TAG split at the last ':' after the last '/'
  // (a registry host's port is not part of a repository name here).
  std::string repo, ref;
  if (auto at = image.find('@'); at != std::string::npos) {
    repo = image.substr(0, at);
    ref = image.substr(at + 1);
  } else {
    auto slash = image.rfind('/');
    auto colon = image.rfind(':');
    if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
      return Die("name the build as REPO:TAG or REPO@DIGEST, not " + image, 2);
    }
    repo = image.substr(0, colon);
    ref = image.substr(colon + 1);
  }
  if (!flags.count("server")) flags["server"] = "http://localhost:5000";
  auto api = ConnectApi(flags, "pier-report");
  if (!api.ok()) return Die(api.status().message(), 2);
  std::string path = "/report?repository=" + PercentEncode(repo) + "&reference=" + PercentEncode(ref);
  if (flags.count("against")) path += "&against=" + PercentEncode(flags["against"]);
  if (!content) path += "&content=false";
  auto r = (*api)->Call("GET", path, "");
  if (!r.ok()) return Die(flags["server"] + ": " + r.status().message(), 2);
  if (r->status != 200) return Die(ErrorText(*r), 1);
  nlohmann::json report = nlohmann::json::parse(r->body, nullptr, false);
  if (!report.is_object()) return Die("the server's answer is not a report", 2);
  if (json_out) {
    std::printf("%s\n", report.dump(2).c_str());
  } else {
    std::fputs(advisor::RenderReport(report).c_str(), stdout);
  }
  return 0;
}

}  // namespace pier::cli
