#pragma once
// Replication executions and tasks: Harbor's objects field for field
// (reference/harbor.md, Execution and Task), plus what Pier needs to run a
// task again after a restart (the artifact it copies, where to).
//
// One execution = one run of a policy. One task = one artifact (a manifest
// or index in a repository, with the tags that point at it) copied or
// deleted; Harbor groups by repository, Pier by artifact so an image is
// complete (and its task Succeed) as soon as its own blobs are there.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier::replication {

inline constexpr std::string_view kStatusPending = "Pending";
inline constexpr std::string_view kStatusInProgress = "InProgress";
inline constexpr std::string_view kStatusSucceed = "Succeed";
inline constexpr std::string_view kStatusFailed = "Failed";
inline constexpr std::string_view kStatusStopped = "Stopped";

inline constexpr std::string_view kOperationCopy = "copy";
inline constexpr std::string_view kOperationDeletion = "deletion";

// True for Succeed, Failed and Stopped.
bool IsFinalStatus(std::string_view status);

// An execution's blob bytes. "Sent" has one meaning everywhere (this JSON,
// pier_replication_sent_bytes_total, the rate and ETA): bytes the
// destination acknowledged (a PATCH or PUT answered, or the Range an upload
// status reported), never bytes merely written to a socket. Deduplicated:
// a blob several tasks of the execution need counts once. Invariant:
// bytes_sent + bytes_skipped + bytes_pending == bytes_total.
struct TransferProgress {
  uint64_t bytes_total = 0;    // distinct blob bytes of every task started
  uint64_t bytes_sent = 0;     // acknowledged by the destination during this execution
  uint64_t bytes_skipped = 0;  // already there: skipped, mounted, or resumed from an earlier run
  uint64_t bytes_pending = 0;  // not at the destination (yet, or ever: failed or stopped)
  uint64_t blobs_pending = 0;  // distinct blobs without an outcome yet
  uint64_t blobs_done = 0;     // distinct blobs with one (failed and stopped included)
};

struct Execution {
  int64_t id = 0;
  int64_t policy_id = 0;
  std::string status = "InProgress";
  std::string status_text;
  std::string trigger = "manual";  // manual | scheduled | event_based
  std::chrono::system_clock::time_point start_time{};
  std::chrono::system_clock::time_point end_time{};  // zero until final
  // Task counts, filled from the tasks when read.
  int64_t total = 0, failed = 0, succeed = 0, in_progress = 0, stopped = 0;
  // Pier: the event that started it (event_based), so a restart replans
  // the same scope: repository and reference ("" = the whole policy).
  std::string event_repository;
  std::string event_reference;
  // The digest that was pushed: what is replicated, even if the tag moved
  // before planning ("" when the event did not say).
  std::string event_digest;
  bool event_deletion = false;
  // Pier: planning finished and the tasks are stored.
  bool planned = false;
  bool stop_requested = false;
  // Pier: the byte counts as they stood when the execution ended (so a
  // finished execution still tells how far it got).
  std::optional<TransferProgress> final_progress;
};

struct Task {
  int64_t id = 0;
  int64_t execution_id = 0;
  std::string job_id;
  std::string status = "Pending";
  std::string operation = "copy";    // copy | deletion
  std::string resource_type = "image";  // image | artifact
  std::string src_resource;  // "library/app:[v1,v2]"
  std::string dst_resource;  // "ns/app:[v1,v2]"
  std::chrono::system_clock::time_point start_time{};
  std::chrono::system_clock::time_point end_time{};
  // Pier: what to copy.
  std::string src_repo;
  std::string digest;  // the artifact's manifest digest
  std::vector<std::string> tags;
  std::string dst_repo;
  std::string status_text;  // why it failed or was skipped
};

// Harbor's JSON shapes. Times as Harbor prints them (harbor_time.h).
// Execution JSON carries Pier's live progress under "pier" when given.
nlohmann::json ExecutionToJson(const Execution& e);
// The "pier" object of the execution JSON.
nlohmann::json ProgressToJson(const TransferProgress& p);
nlohmann::json TaskToJson(const Task& t);

// "repo:[t1,t2]" (or "repo@sha256:..." when untagged).
std::string ResourceName(std::string_view repo, const std::vector<std::string>& tags, std::string_view digest);

// Internal record encodings (lossless; times in milliseconds).
std::string EncodeExecution(const Execution& e);
Result<Execution> DecodeExecution(std::string_view text);
std::string EncodeTask(const Task& t);
Result<Task> DecodeTask(std::string_view text);

}  // namespace pier::replication
