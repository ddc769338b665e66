// Bodies of POST /registries (create) and PUT /registries/{id} (flat
// update), and the URL check under both. JSON output never shows a stored
// secret; an accepted endpoint's URL is already normalised.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "base/json_depth.h"
#include "replication/registry_endpoint.h"
#include "tests/fuzz/fuzz_check.h"

namespace pr = pier::replication;

namespace {

void CheckOutput(const pr::Endpoint& e) {
  nlohmann::json j = pr::EndpointToJson(e);
  const auto& secret = j.at("credential").at("access_secret");
  FUZZ_CHECK(secret == (e.credential.access_secret.empty() ? "" : pr::kSecretMask), "secrets are masked");
  auto url = pr::NormalizeEndpointUrl(e.url);
  FUZZ_CHECK(url.ok() && *url == e.url, "a stored URL is normalised");
  (void)pr::EndpointInfo(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  auto url = pr::NormalizeEndpointUrl(text);
  if (url.ok()) {
    auto again = pr::NormalizeEndpointUrl(*url);
    FUZZ_CHECK(again.ok() && *again == *url, "URL normalisation is idempotent");
  }
  // The API refuses deeper bodies before any parser sees them (ParseBody in
  // adapter/api/common.cc): nlohmann copies values recursively.
  if (!pier::JsonDepthWithin(text)) return 0;
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;
  auto created = pr::ParseEndpointCreate(body);
  if (created.ok()) {
    CheckOutput(*created);
  } else {
    FUZZ_CHECK(created.status().code() == pier::Code::kInvalidArgument,
               "create refuses with InvalidArgument");
  }
  pr::Endpoint existing;
  existing.id = 3;
  existing.name = "acr";
  existing.url = "https://registry.cn-hangzhou.aliyuncs.com";
  existing.type = std::string(pr::kTypeAliAcr);
  existing.credential.access_key = "user";
  existing.credential.access_secret = "s3cret";
  auto updated = pr::ApplyEndpointUpdate(existing, body);
  if (updated.ok()) {
    FUZZ_CHECK(updated->id == existing.id && updated->type == existing.type, "an update keeps id and type");
    CheckOutput(*updated);
  }
  return 0;
}
