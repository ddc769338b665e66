#include "replication/execution.h"

#include "base/harbor_time.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

int64_t ToMs(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point FromMs(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

Result<json> ParseObject(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(std::string(what) + " record is damaged");
  return j;
}

template <class T>
T Get(const json& j, const char* key, T dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  try {
    return it->get<T>();
  } catch (...) {
    return dflt;
  }
}

}  // namespace

bool IsFinalStatus(std::string_view s) {
  return s == kStatusSucceed || s == kStatusFailed || s == kStatusStopped;
}

std::string ResourceName(std::string_view repo, const std::vector<std::string>& tags, std::string_view digest) {
  std::string out(repo);
  if (tags.empty()) return out + "@" + std::string(digest);
  out += ":[";
  for (size_t i = 0; i < tags.size(); ++i) {
    if (i) out += ',';
    out += tags[i];
  }
  return out + "]";
}

json ExecutionToJson(const Execution& e) {
  return json{{"id", e.id},
              {"policy_id", e.policy_id},
              {"status", e.status},
              {"status_text", e.status_text},
              {"trigger", e.trigger},
              {"start_time", FormatTime(e.start_time)},
              {"end_time", FormatTime(e.end_time)},
              {"total", e.total},
              {"failed", e.failed},
              {"succeed", e.succeed},
              {"in_progress", e.in_progress},
              {"stopped", e.stopped}};
}

json ProgressToJson(const TransferProgress& p) {
  return json{{"bytes_total", p.bytes_total},     {"bytes_sent", p.bytes_sent},
              {"bytes_skipped", p.bytes_skipped}, {"bytes_pending", p.bytes_pending},
              {"blobs_pending", p.blobs_pending}, {"blobs_done", p.blobs_done}};
}

json TaskToJson(const Task& t) {
  return json{{"id", t.id},
              {"execution_id", t.execution_id},
              {"job_id", t.job_id},
              {"status", t.status},
              {"operation", t.operation},
              {"resource_type", t.resource_type},
              {"src_resource", t.src_resource},
              {"dst_resource", t.dst_resource},
              {"start_time", FormatTime(t.start_time)},
              {"end_time", FormatTime(t.end_time)}};
}

std::string EncodeExecution(const Execution& e) {
  json j{{"id", e.id},
              {"policy_id", e.policy_id},
              {"status", e.status},
              {"status_text", e.status_text},
              {"trigger", e.trigger},
              {"start_ms", ToMs(e.start_time)},
              {"end_ms", ToMs(e.end_time)},
              {"event_repository", e.event_repository},
              {"event_reference", e.event_reference},
              {"event_digest", e.event_digest},
              {"event_deletion", e.event_deletion},
              {"planned", e.planned},
              {"stop_requested", e.stop_requested}};
  if (e.final_progress) j["final_progress"] = ProgressToJson(*e.final_progress);
  return j.dump();
}

Result<Execution> DecodeExecution(std::string_view text) {
  auto j = ParseObject(text, "execution");
  if (!j.ok()) return j.status();
  Execution e;
  e.id = Get<int64_t>(*j, "id", 0);
  e.policy_id = Get<int64_t>(*j, "policy_id", 0);
  e.status = Get<std::string>(*j, "status", std::string(kStatusFailed));
  e.status_text = Get<std::string>(*j, "status_text", "");
  e.trigger = Get<std::string>(*j, "trigger", "manual");
  e.start_time = FromMs(Get<int64_t>(*j, "start_ms", 0));
  e.end_time = FromMs(Get<int64_t>(*j, "end_ms", 0));
  e.event_repository = Get<std::string>(*j, "event_repository", "");
  e.event_reference = Get<std::string>(*j, "event_reference", "");
  e.event_digest = Get<std::string>(*j, "event_digest", "");
  e.event_deletion = Get<bool>(*j, "event_deletion", false);
  e.planned = Get<bool>(*j, "planned", false);
  e.stop_requested = Get<bool>(*j, "stop_requested", false);
  if (auto it = j->find("final_progress"); it != j->end() && it->is_object()) {
    TransferProgress p;
    p.bytes_total = Get<uint64_t>(*it, "bytes_total", 0);
    p.bytes_sent = Get<uint64_t>(*it, "bytes_sent", 0);
    p.bytes_skipped = Get<uint64_t>(*it, "bytes_skipped", 0);
    p.bytes_pending = Get<uint64_t>(*it, "bytes_pending", 0);
    p.blobs_pending = Get<uint64_t>(*it, "blobs_pending", 0);
    p.blobs_done = Get<uint64_t>(*it, "blobs_done", 0);
    e.final_progress = p;
  }
  if (e.id <= 0) return Status::Corruption("execution record has no id");
  return e;
}

std::string EncodeTask(const Task& t) {
  return json{{"id", t.id},
              {"execution_id", t.execution_id},
              {"job_id", t.job_id},
              {"status", t.status},
              {"operation", t.operation},
              {"resource_type", t.resource_type},
              {"src_resource", t.src_resource},
              {"dst_resource", t.dst_resource},
              {"start_ms", ToMs(t.start_time)},
              {"end_ms", ToMs(t.end_time)},
              {"src_repo", t.src_repo},
              {"digest", t.digest},
              {"tags", t.tags},
              {"dst_repo", t.dst_repo},
              {"status_text", t.status_text}}
      .dump();
}

Result<Task> DecodeTask(std::string_view text) {
  auto j = ParseObject(text, "task");
  if (!j.ok()) return j.status();
  Task t;
  t.id = Get<int64_t>(*j, "id", 0);
  t.execution_id = Get<int64_t>(*j, "execution_id", 0);
  t.job_id = Get<std::string>(*j, "job_id", "");
  t.status = Get<std::string>(*j, "status", std::string(kStatusFailed));
  t.operation = Get<std::string>(*j, "operation", "copy");
  t.resource_type = Get<std::string>(*j, "resource_type", "image");
  t.src_resource = Get<std::string>(*j, "src_resource", "");
  t.dst_resource = Get<std::string>(*j, "dst_resource", "");
  t.start_time = FromMs(Get<int64_t>(*j, "start_ms", 0));
  t.end_time = FromMs(Get<int64_t>(*j, "end_ms", 0));
  t.src_repo = Get<std::string>(*j, "src_repo", "");
  t.digest = Get<std::string>(*j, "digest", "");
  t.tags = Get<std::vector<std::string>>(*j, "tags", {});
  t.dst_repo = Get<std::string>(*j, "dst_repo", "");
  t.status_text = Get<std::string>(*j, "status_text", "");
  if (t.id <= 0 || t.execution_id <= 0) return Status::Corruption("task record has no id");
  return t;
}

}  // namespace pier::replication
