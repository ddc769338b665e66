// Bodies of POST/PUT /api/v2.0/replication/policies. ParsePolicy promises
// never to throw. An accepted policy written back with PolicyToJson parses
// to a policy that writes the same JSON (what a GET-modify-PUT client
// relies on); the PUT merge over an existing policy keeps its id; the
// destination check for ACR runs on it without throwing.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "base/json_depth.h"
#include "replication/policy.h"
#include "tests/fuzz/fuzz_check.h"

namespace pr = pier::replication;

namespace {

const pr::Policy& Existing() {
  static const pr::Policy p = [] {
    auto parsed = pr::ParsePolicy(nlohmann::json::parse(R"({
      "name": "to-acr", "src_registry": null, "dest_registry": {"id": 1},
      "dest_namespace": "team", "dest_namespace_replace_count": 1,
      "trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 3 * * *"}},
      "filters": [{"type": "name", "value": "library/**"}, {"type": "tag", "value": "v*"}],
      "deletion": false, "override": true, "enabled": true, "speed": 1024})"));
    FUZZ_CHECK(parsed.ok(), "the fixed existing policy parses");
    parsed->id = 7;
    return *parsed;
  }();
  return p;
}

void CheckAccepted(const pr::Policy& p) {
  nlohmann::json out = pr::PolicyToJson(p);
  auto back = pr::ParsePolicy(out);
  FUZZ_CHECK(back.ok(), "PolicyToJson output parses");
  back->id = p.id;
  back->creation_time = p.creation_time;
  back->update_time = p.update_time;
  FUZZ_CHECK(pr::PolicyToJson(*back) == out, "PolicyToJson → ParsePolicy is a fixed point");

  pr::Endpoint acr;
  acr.id = 1;
  acr.name = "acr";
  acr.type = std::string(pr::kTypeAliAcr);
  acr.url = "https://registry.cn-hangzhou.aliyuncs.com";
  (void)pr::CheckPolicyForDestination(p, acr, {"library/busybox", "team/app", "a/b/c/d", "app"});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  // The API refuses deeper bodies before any parser sees them (ParseBody in
  // adapter/api/common.cc): nlohmann copies values recursively.
  if (!pier::JsonDepthWithin(text)) return 0;
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;
  auto created = pr::ParsePolicy(body);
  if (created.ok()) {
    CheckAccepted(*created);
  } else {
    FUZZ_CHECK(created.status().code() == pier::Code::kInvalidArgument,
               "ParsePolicy refuses with InvalidArgument");
  }
  auto updated = pr::ParsePolicy(body, &Existing());
  if (updated.ok()) {
    FUZZ_CHECK(updated->id == Existing().id, "a PUT keeps the stored id");
    CheckAccepted(*updated);
  }
  return 0;
}
