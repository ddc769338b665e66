#include "cache/remote_upload_state.h"

#include <nlohmann/json.hpp>

namespace pier {

std::string EncodeRemoteState(const RemoteUploadState& s) {
  nlohmann::json parts = nlohmann::json::array();
  for (const UploadPart& p : s.parts) parts.push_back({p.number, p.etag});
  return nlohmann::json{{"id", s.upload_id}, {"parts", parts}, {"parts_bytes", s.parts_bytes},
                        {"tail", s.tail}, {"sha", s.sha}}
      .dump();
}

Result<RemoteUploadState> DecodeRemoteState(std::string_view text) {
  auto bad = [](const std::string& what) { return Status::Corruption("upload state: " + what); };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return bad("not a JSON object");
  RemoteUploadState s;
  if (!j.contains("id") || !j["id"].is_string()) return bad("id");
  if (!j.contains("parts") || !j["parts"].is_array()) return bad("parts");
  if (!j.contains("parts_bytes") || !j["parts_bytes"].is_number_unsigned()) return bad("parts_bytes");
  if (!j.contains("tail") || !j["tail"].is_number_unsigned()) return bad("tail");
  if (!j.contains("sha") || !j["sha"].is_string()) return bad("sha");
  s.upload_id = j["id"].get<std::string>();
  s.parts_bytes = j["parts_bytes"].get<uint64_t>();
  s.tail = j["tail"].get<uint64_t>();
  s.sha = j["sha"].get<std::string>();
  int expect = 1;
  for (const auto& p : j["parts"]) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_string()) return bad("part");
    UploadPart part{p[0].get<int>(), p[1].get<std::string>()};
    if (part.number != expect++) return bad("parts out of order");
    s.parts.push_back(std::move(part));
  }
  if (!s.parts.empty() && s.upload_id.empty()) return bad("parts without an upload id");
  return s;
}

}  // namespace pier
