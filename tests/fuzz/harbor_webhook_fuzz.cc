// Harbor webhook bodies, Default and CloudEvents: input is
// "<content type>\n<body>". Every event Pier takes has one of the four
// types, a repository and a reference.
#include <cstddef>
#include <cstdint>

#include "replication/harbor_webhook.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = pier::fuzz::AsText(data, size);
  size_t nl = input.find('\n');
  std::string_view content_type = nl == std::string_view::npos ? std::string_view() : input.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? input : input.substr(nl + 1);
  auto events = pier::replication::ParseHarborWebhook(content_type, body);
  if (!events.ok()) {
    FUZZ_CHECK(events.status().code() == pier::Code::kInvalidArgument, "refusals are InvalidArgument");
    return 0;
  }
  FUZZ_CHECK(!events->empty(), "an accepted payload has at least one event");
  for (const auto& e : *events) {
    FUZZ_CHECK(e.type == "PUSH_ARTIFACT" || e.type == "DELETE_ARTIFACT" || e.type == "CREATE_TAG" ||
                   e.type == "DELETE_TAG",
               "only the four event types");
    FUZZ_CHECK(!e.repository.empty() && !e.reference.empty() && !e.id.empty(),
               "repository, reference and id set");
    FUZZ_CHECK(e.source_host.find('/') == std::string::npos, "the source host is host[:port]");
  }
  return 0;
}
