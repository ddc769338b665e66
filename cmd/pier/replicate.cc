#include "cmd/pier/replicate.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "cmd/pier/api_client.h"
#include "replication/progress_bar.h"

namespace pier::cli {
namespace {

using json = nlohmann::json;

const char* const kReplicateUsageText =
    "usage: pier replicate --policy NAME [--server URL] [--user USER] [--password-file FILE] [--insecure]\n"
    "  Starts a manual execution of the policy on a running Pier and shows its progress.\n"
    "  --server URL          Pier's base URL (default http://127.0.0.1:5000)\n"
    "  --user USER           an admin user; the password comes from --password-file or $PIER_PASSWORD\n"
    "  --insecure            do not verify the server's TLS certificate\n"
    "  Exit status: 0 Succeed, 1 Failed or Stopped, 2 usage or connection errors.\n";

// Levenshtein distance, for suggesting a policy name close to a mistyped one.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Up to three names within a third of the wanted name's length (at least 2
// edits), or containing it, closest first.
std::vector<std::string> ClosestNames(const std::string& wanted, const std::vector<std::string>& names) {
  std::vector<std::pair<size_t, std::string>> scored;
  const size_t limit = std::max<size_t>(2, wanted.size() / 3);
  for (const std::string& n : names) {
    size_t d = EditDistance(wanted, n);
    if (d <= limit || n.find(wanted) != std::string::npos || wanted.find(n) != std::string::npos)
      scored.emplace_back(d, n);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) out.push_back(scored[i].second);
  return out;
}

// What to do about a refused credential, named for the two ways to give one.
std::string AuthHint(const client::HttpResponse& r) {
  if (r.status == 401) return " (check --user and its password: $PIER_PASSWORD or --password-file)";
  if (r.status == 403) return " (the user must be listed in auth.admins)";
  return "";
}

// Why a failed execution failed: its own status_text, else the end of its
// first failed task's log ("<time> Failed: <reason>"). "" when unknown.
std::string FailureReason(ApiClient& api, const std::string& exec_id, const json& e) {
  std::string text = e.value("status_text", "");
  if (!text.empty()) return text;
  auto tasks = api.Call("GET", "/replication/executions/" + exec_id + "/tasks?page_size=100", "");
  if (!tasks.ok() || tasks->status != 200) return "";
  json list = json::parse(tasks->body, nullptr, false);
  if (!list.is_array()) return "";
  for (const auto& t : list) {
    if (!t.is_object() || t.value("status", "") != "Failed") continue;
    auto log = api.Call("GET", "/replication/executions/" + exec_id + "/tasks/" +
                                   std::to_string(t.value("id", int64_t{0})) + "/log", "");
    if (!log.ok() || log->status != 200) return "";
    std::string body = log->body;
    while (!body.empty() && body.back() == '\n') body.pop_back();
    std::string last = body.substr(body.find_last_of('\n') == std::string::npos ? 0 : body.find_last_of('\n') + 1);
    const std::string mark = " Failed: ";
    auto at = last.find(mark);
    return at == std::string::npos ? "" : t.value("dst_resource", "") + ": " + last.substr(at + mark.size());
  }
  return "";
}

int Die(const std::string& what, int code) {
  std::fprintf(stderr, "pier replicate: %s\n", what.c_str());
  return code;
}

}  // namespace

const char* const kReplicateUsage = kReplicateUsageText;

int Replicate(const std::map<std::string, std::string>& flags) {
  for (const auto& [k, v] : flags) {
    if (k != "policy" && k != "server" && k != "user" && k != "password-file" && k != "insecure") {
      return Die("unknown flag --" + k + "\n" + kReplicateUsageText, 2);
    }
  }
  auto pit = flags.find("policy");
  if (pit == flags.end() || pit->second.empty()) return Die(std::string("--policy is required\n") + kReplicateUsageText, 2);
  std::string server = flags.count("server") ? flags.at("server") : "http://127.0.0.1:5000";
  auto connected = ConnectApi(flags, "pier-replicate");
  if (!connected.ok()) return Die(connected.status().message(), 2);
  ApiClient& api = **connected;

  // The policy by exact name.
  auto list = api.Call("GET", "/replication/policies?page_size=100&name=" + PercentEncode(pit->second), "");
  if (!list.ok()) return Die(server + ": " + list.status().message(), 2);
  if (list->status != 200) return Die("listing policies: " + ErrorText(*list) + AuthHint(*list), 2);
  int64_t policy_id = 0;
  json policies = json::parse(list->body, nullptr, false);
  if (policies.is_array()) {
    for (const auto& p : policies) {
      if (p.is_object() && p.value("name", "") == pit->second) policy_id = p.value("id", int64_t{0});
    }
  }
  if (policy_id == 0) {
    // Suggest from every policy (pages of 100), as a shell suggests a command.
    std::vector<std::string> names;
    for (int page = 1; page <= 100; ++page) {
      auto all = api.Call("GET", "/replication/policies?page_size=100&page=" + std::to_string(page), "");
      if (!all.ok() || all->status != 200) break;
      json arr = json::parse(all->body, nullptr, false);
      if (!arr.is_array() || arr.empty()) break;
      for (const auto& p : arr) {
        if (p.is_object() && p.contains("name") && p["name"].is_string()) names.push_back(p["name"].get<std::string>());
      }
      if (arr.size() < 100) break;
    }
    std::string msg = "no policy named " + pit->second;
    std::vector<std::string> close = ClosestNames(pit->second, names);
    for (size_t i = 0; i < close.size(); ++i) msg += (i == 0 ? "; did you mean " : ", ") + close[i];
    if (!close.empty()) msg += "?";
    return Die(msg, 2);
  }

  auto started = api.Call("POST", "/replication/executions", json{{"policy_id", policy_id}}.dump());
  if (!started.ok()) return Die(started.status().message(), 2);
  if (started->status != 201) return Die("starting " + pit->second + ": " + ErrorText(*started) + AuthHint(*started), 1);
  std::string loc = started->Header("location");
  std::string exec_id = loc.substr(loc.find_last_of('/') + 1);
  std::fprintf(stderr, "execution %s of policy %s started\n", exec_id.c_str(), pit->second.c_str());

  bool tty = ::isatty(STDERR_FILENO) == 1;
  auto t0 = std::chrono::steady_clock::now();
  auto last_print = t0 - std::chrono::seconds(10);
  replication::RateMeter meter;
  replication::ProgressView view;
  for (;;) {
    auto r = api.Call("GET", "/replication/executions/" + exec_id, "");
    if (!r.ok()) return Die(r.status().message(), 2);
    if (r->status != 200) return Die("reading execution " + exec_id + ": " + ErrorText(*r), 2);
    json e = json::parse(r->body, nullptr, false);
    if (!e.is_object()) return Die("unreadable execution object", 2);
    std::string status = e.value("status", "");
    double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    view.tasks_total = e.value("total", int64_t{0});
    view.tasks_done = e.value("succeed", int64_t{0}) + e.value("failed", int64_t{0}) + e.value("stopped", int64_t{0});
    // Byte counts as the server has them, also after the end (never made up
    // here: a stopped run keeps its pending bytes).
    if (e.contains("pier") && e["pier"].is_object()) {
      const json& p = e["pier"];
      view.bytes_total = p.value("bytes_total", uint64_t{0});
      view.bytes_sent = p.value("bytes_sent", uint64_t{0});
      view.bytes_pending = p.value("bytes_pending", uint64_t{0});
      meter.Add(now, view.bytes_sent);
      view.rate = meter.Rate(now);
    }
    bool done = status != "InProgress";
    if (done) {
      std::string text = e.value("status_text", "");
      std::string reason = status == "Failed" ? FailureReason(api, exec_id, e) : text;
      std::fprintf(stderr, tty ? "\r%s\x1b[K\n" : "%s\n",
                   replication::FormatFinal(view, status, reason, now).c_str());
      std::printf("execution %s: %s%s%s (%lld task(s): %lld succeeded, %lld failed, %lld stopped) in %s\n",
                  exec_id.c_str(), status.c_str(), text.empty() ? "" : ": ", text.c_str(),
                  static_cast<long long>(view.tasks_total), static_cast<long long>(e.value("succeed", int64_t{0})),
                  static_cast<long long>(e.value("failed", int64_t{0})),
                  static_cast<long long>(e.value("stopped", int64_t{0})), replication::HumanDuration(now).c_str());
      return status == "Succeed" ? 0 : 1;
    }
    auto wall = std::chrono::steady_clock::now();
    if (tty) {
      std::fprintf(stderr, "\r%s\x1b[K", replication::FormatProgress(view).c_str());
    } else if (wall - last_print >= std::chrono::seconds(5)) {
      std::fprintf(stderr, "%s\n", replication::FormatProgress(view).c_str());
      last_print = wall;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace pier::cli
