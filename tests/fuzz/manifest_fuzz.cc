// ParseManifest on a Content-Type and a body: input is "<content type>\n<body>".
// Invariants: a parsed manifest resolves to one of the four stored media
// types, and every descriptor in it survives DescriptorJson →
// ParseDescriptorJson (the referrers index stores descriptors that way).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "base/manifest.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckRoundTrip(const pier::Descriptor& d) {
  std::string text = pier::DescriptorJson(d);
  auto back = pier::ParseDescriptorJson(text);
  FUZZ_CHECK(back.ok(), "DescriptorJson output parses as a descriptor");
  FUZZ_CHECK(back->media_type == d.media_type, "mediaType round-trips");
  FUZZ_CHECK(back->digest == d.digest, "digest round-trips");
  FUZZ_CHECK(back->size == d.size, "size round-trips");
  FUZZ_CHECK(back->artifact_type == d.artifact_type, "artifactType round-trips");
  FUZZ_CHECK(back->annotations_json.empty() == d.annotations_json.empty(),
             "annotations presence round-trips");
  if (!d.annotations_json.empty()) {
    auto a = nlohmann::json::parse(d.annotations_json, nullptr, false);
    auto b = nlohmann::json::parse(back->annotations_json, nullptr, false);
    FUZZ_CHECK(!a.is_discarded() && a == b, "annotations round-trip");
  }
  FUZZ_CHECK(pier::DescriptorJson(*back) == text, "DescriptorJson is a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = pier::fuzz::AsText(data, size);
  size_t nl = input.find('\n');
  std::string_view content_type = nl == std::string_view::npos ? std::string_view() : input.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? input : input.substr(nl + 1);
  auto m = pier::ParseManifest(content_type, body);
  if (!m.ok()) {
    auto code = m.status().code();
    FUZZ_CHECK(code == pier::Code::kInvalidArgument || code == pier::Code::kUnsupported,
               "ParseManifest fails only with InvalidArgument or Unsupported");
    return 0;
  }
  FUZZ_CHECK(pier::IsManifestMediaType(m->media_type), "the resolved media type is one Pier stores");
  if (pier::IsIndexMediaType(m->media_type)) {
    FUZZ_CHECK(m->blobs.empty(), "an index references no blobs");
  } else {
    FUZZ_CHECK(m->manifests.empty() && !m->blobs.empty(), "an image manifest has a config and no children");
  }
  for (const auto& d : m->blobs) CheckRoundTrip(d);
  for (const auto& d : m->manifests) CheckRoundTrip(d);
  if (m->subject) CheckRoundTrip(*m->subject);
  return 0;
}
