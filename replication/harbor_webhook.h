#pragma once
// Harbor's webhook payloads (reference/harbor.md, Webhooks Harbor sends):
// the Default JSON shape and the CloudEvents variant, reduced to what the
// engine needs to start event-based pull policies.
//
// Promises: never throws; a payload that is not one of the four event
// types Pier handles, or lacks a field it needs, is InvalidArgument naming
// the field ("event_data.repository.repo_full_name: required").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier::replication {

struct HarborEvent {
  std::string type;        // PUSH_ARTIFACT | DELETE_ARTIFACT | CREATE_TAG | DELETE_TAG
  std::string repository;  // "library/busybox"
  std::string reference;   // the tag, or the digest when pushed by digest
  std::string digest;      // may be empty for tag events
  int64_t occur_at = 0;
  std::string id;          // CloudEvents id, else a key built from the fields (for dedup)
  std::string source_host; // host[:port] of resource_url ("" when absent)
  bool deletion() const { return type == "DELETE_ARTIFACT" || type == "DELETE_TAG"; }
};

// One event per resource (Harbor sends one resource per event, but the
// array form is accepted). `content_type` selects CloudEvents
// ("application/cloudevents+json") or the Default shape.
Result<std::vector<HarborEvent>> ParseHarborWebhook(std::string_view content_type, std::string_view body);

// Whether an event's source_host ("host" or "host:port") names the registry
// at `endpoint_url`. Both sides are read with client::Url: a default port
// may be written or left out. False when the endpoint URL does not parse.
bool SameRegistryHost(std::string_view endpoint_url, std::string_view source_host);

}  // namespace pier::replication
