#include "base/manifest.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/json_depth.h"
#include "base/text.h"

namespace pier {
namespace {

using nlohmann::json;

// Manifests come from clients: serialization must never throw, even on
// strings that nlohmann considers invalid UTF-8.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Status Invalid(std::string_view field, std::string_view what) {
  return Status::InvalidArgument(std::string(field) + ": " + std::string(what));
}

// "Application/JSON; charset=utf-8" -> "application/json"
std::string NormalizeContentType(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.front()))) ct.remove_prefix(1);
  while (!ct.empty() && std::isspace(static_cast<unsigned char>(ct.back()))) ct.remove_suffix(1);
  return AsciiLower(ct);
}

bool IsGenericContentType(std::string_view ct) {
  return ct.empty() || ct == "application/json" || ct == "application/octet-stream";
}

bool IsSchema1(std::string_view mt) {
  return mt == media::kDockerSchema1 || mt == media::kDockerSchema1Signed;
}

Status OptionalString(const json& obj, const char* key, std::string_view field, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::OK();
  if (!it->is_string()) return Invalid(std::string(field) + key, "must be a string");
  *out = it->get<std::string>();
  return Status::OK();
}

// RFC 6838's shape, `type/subtype` of restricted names: unknown types are
// fine (the spec says to tolerate them), malformed ones are not.
bool IsMediaTypeShape(std::string_view mt) {
  auto restricted_name = [](std::string_view n) {
    if (n.empty() || n.size() > 127 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
    for (char c : n) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("!#$&^_.+-").find(c) == std::string_view::npos)
        return false;
    }
    return true;
  };
  size_t slash = mt.find('/');
  return slash != std::string_view::npos && restricted_name(mt.substr(0, slash)) &&
         restricted_name(mt.substr(slash + 1));
}

// An optional media type (artifactType): a string of the right shape.
Status OptionalMediaType(const json& obj, const char* key, std::string_view field, std::string* out) {
  if (Status s = OptionalString(obj, key, field, out); !s.ok()) return s;
  if (!out->empty() && !IsMediaTypeShape(*out)) return Invalid(std::string(field) + key, "must be a media type (type/subtype)");
  return Status::OK();
}

// Annotations are string → string (image-spec annotations.md).
Status CheckAnnotations(const json& value, const std::string& field) {
  for (const auto& [k, v] : value.items()) {
    if (!v.is_string()) return Invalid(field + "[\"" + k.substr(0, 100) + "\"]", "annotation values must be strings");
  }
  return Status::OK();
}

Status OptionalStringArray(const json& obj, const char* key, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::OK();
  if (!it->is_array()) return Invalid(field + key, "must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return Invalid(field + key, "must be an array of strings");
  }
  return Status::OK();
}

// image-spec's platform object: architecture and os required strings; the
// optional fields typed as the spec (and Docker's manifest list) define them.
Status CheckPlatform(const json& p, const std::string& field) {
  const std::string f = field + ".";
  for (const char* key : {"architecture", "os"}) {
    auto it = p.find(key);
    if (it == p.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
      return Invalid(f + key, "required string");
  }
  std::string ignored;
  for (const char* key : {"os.version", "variant"}) {
    if (Status s = OptionalString(p, key, f, &ignored); !s.ok()) return s;
  }
  for (const char* key : {"os.features", "features"}) {
    if (Status s = OptionalStringArray(p, key, f); !s.ok()) return s;
  }
  return Status::OK();
}

// Keeps an optional JSON object as text (annotations, platform).
Status OptionalObject(const json& obj, const char* key, std::string_view field, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_object()) return Invalid(std::string(field) + key, "must be an object");
  *out = Dump(*it);
  return Status::OK();
}

Status ParseSize(const json& obj, const std::string& field, int64_t* out) {
  auto it = obj.find("size");
  if (it == obj.end()) return Invalid(field + "size", "required");
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Invalid(field + "size", "too large");
    *out = static_cast<int64_t>(v);
    return Status::OK();
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return Invalid(field + "size", "must be a non-negative integer");
  }
  *out = it->get<int64_t>();
  return Status::OK();
}

Status ParseUrls(const json& obj, const std::string& field, std::vector<std::string>* out) {
  auto it = obj.find("urls");
  if (it == obj.end() || it->is_null()) return Status::OK();
  if (!it->is_array()) return Invalid(field + "urls", "must be an array of strings");
  for (const auto& u : *it) {
    if (!u.is_string()) return Invalid(field + "urls", "must be an array of strings");
    out->push_back(u.get<std::string>());
  }
  return Status::OK();
}

// `name` is the field path used in error messages, e.g. "layers[2]".
Result<Descriptor> ParseDescriptor(const json& j, const std::string& name) {
  if (!j.is_object()) return Invalid(name, "must be an object");
  const std::string field = name + ".";
  Descriptor d;
  auto mt = j.find("mediaType");
  if (mt == j.end() || !mt->is_string() || mt->get_ref<const std::string&>().empty()) {
    return Invalid(field + "mediaType", "required string");
  }
  d.media_type = mt->get<std::string>();
  if (!IsMediaTypeShape(d.media_type)) return Invalid(field + "mediaType", "must be a media type (type/subtype)");
  auto dg = j.find("digest");
  if (dg == j.end() || !dg->is_string()) return Invalid(field + "digest", "required string");
  auto digest = Digest::Parse(dg->get_ref<const std::string&>());
  if (!digest.ok()) return Invalid(field + "digest", digest.status().message());
  d.digest = std::move(digest).value();
  if (Status s = ParseSize(j, field, &d.size); !s.ok()) return s;
  if (Status s = OptionalMediaType(j, "artifactType", field, &d.artifact_type); !s.ok()) return s;
  if (Status s = OptionalObject(j, "annotations", field, &d.annotations_json); !s.ok()) return s;
  if (!d.annotations_json.empty()) {
    if (Status s = CheckAnnotations(j.at("annotations"), field + "annotations"); !s.ok()) return s;
  }
  if (Status s = ParseUrls(j, field, &d.urls); !s.ok()) return s;
  std::string data;  // OCI 1.1 embedded content: base64 text
  if (Status s = OptionalString(j, "data", field, &data); !s.ok()) return s;
  std::string platform;
  if (Status s = OptionalObject(j, "platform", field, &platform); !s.ok()) return s;
  if (!platform.empty()) {
    if (Status s = CheckPlatform(j.at("platform"), field + "platform"); !s.ok()) return s;
    d.platform_json = std::move(platform);
  }
  return d;
}

Status ParseDescriptorArray(const json& root, const char* key, std::vector<Descriptor>* out) {
  auto it = root.find(key);
  if (it == root.end() || !it->is_array()) return Invalid(key, "required array");
  for (size_t i = 0; i < it->size(); ++i) {
    auto d = ParseDescriptor((*it)[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (!d.ok()) return d.status();
    out->push_back(std::move(d).value());
  }
  return Status::OK();
}

// When the request does not name the type, the body's shape decides.
Result<std::string> InferMediaType(const json& root) {
  auto version = root.find("schemaVersion");
  if (version != root.end() && version->is_number_integer() && version->get<int64_t>() == 1) {
    return Status::Unsupported("Docker schema1 manifests are not supported");
  }
  if (root.contains("manifests")) return std::string(media::kOciIndex);
  if (root.contains("config") && root.contains("layers")) return std::string(media::kOciManifest);
  return Status::InvalidArgument(
      "cannot determine manifest media type: no mediaType, manifests, or config+layers");
}

// Content-Type wins when it names a manifest type; the body's mediaType must
// then agree. A generic Content-Type defers to the body.
Result<std::string> ResolveMediaType(const std::string& ct, const json& root) {
  std::string body_mt;
  if (Status s = OptionalString(root, "mediaType", "", &body_mt); !s.ok()) return s;
  if (IsManifestMediaType(ct)) {
    if (!body_mt.empty() && body_mt != ct) {
      return Status::InvalidArgument("mediaType " + body_mt + " does not match Content-Type " + ct);
    }
    return ct;
  }
  if (body_mt.empty()) return InferMediaType(root);
  if (IsSchema1(body_mt)) return Status::Unsupported("Docker schema1 manifests are not supported");
  if (!IsManifestMediaType(body_mt))
    return Status::Unsupported("unsupported manifest media type: " + body_mt);
  return body_mt;
}

Status CheckSchemaVersion(const json& root) {
  auto it = root.find("schemaVersion");
  if (it == root.end() || !it->is_number_integer() || it->get<int64_t>() != 2) {
    return Invalid("schemaVersion", "must be 2");
  }
  return Status::OK();
}

Status ParseImageManifest(const json& root, ParsedManifest* out) {
  auto config = root.find("config");
  if (config == root.end()) return Invalid("config", "required");
  auto cfg = ParseDescriptor(*config, "config");
  if (!cfg.ok()) return cfg.status();
  // OCI 1.1: an artifact without artifactType is typed by its config.
  if (out->artifact_type.empty() && out->media_type == media::kOciManifest)
    out->artifact_type = cfg->media_type;
  out->blobs.push_back(std::move(cfg).value());
  // Foreign layers (with urls) stay in the list; the store skips them.
  return ParseDescriptorArray(root, "layers", &out->blobs);
}

Status ParseParts(const json& root, ParsedManifest* out) {
  if (Status s = CheckSchemaVersion(root); !s.ok()) return s;
  if (Status s = OptionalMediaType(root, "artifactType", "", &out->artifact_type); !s.ok()) return s;
  if (Status s = OptionalObject(root, "annotations", "", &out->annotations_json); !s.ok()) return s;
  if (!out->annotations_json.empty()) {
    if (Status s = CheckAnnotations(root.at("annotations"), "annotations"); !s.ok()) return s;
  }
  if (auto it = root.find("subject"); it != root.end() && !it->is_null()) {
    auto subject = ParseDescriptor(*it, "subject");
    if (!subject.ok()) return subject.status();
    out->subject = std::move(subject).value();
  }
  if (IsIndexMediaType(out->media_type)) return ParseDescriptorArray(root, "manifests", &out->manifests);
  return ParseImageManifest(root, out);
}

Result<ParsedManifest> ParseManifestUnchecked(std::string_view content_type, std::string_view bytes) {
  const std::string ct = NormalizeContentType(content_type);
  if (IsSchema1(ct)) return Status::Unsupported("Docker schema1 manifests are not supported");
  if (!IsManifestMediaType(ct) && !IsGenericContentType(ct)) {
    return Status::Unsupported("unsupported manifest media type: " + ct);
  }
  if (!JsonDepthWithin(bytes)) return Status::InvalidArgument("manifest nests too deeply");
  json root = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidArgument("manifest is not valid JSON");
  if (!root.is_object()) return Status::InvalidArgument("manifest must be a JSON object");
  auto mt = ResolveMediaType(ct, root);
  if (!mt.ok()) return mt.status();
  ParsedManifest out;
  out.media_type = std::move(mt).value();
  if (Status s = ParseParts(root, &out); !s.ok()) return s;
  return out;
}

}  // namespace

bool IsManifestMediaType(std::string_view media_type) {
  return media_type == media::kOciManifest || media_type == media::kOciIndex ||
         media_type == media::kDockerManifest || media_type == media::kDockerList;
}

bool IsIndexMediaType(std::string_view media_type) {
  return media_type == media::kOciIndex || media_type == media::kDockerList;
}

Result<ParsedManifest> ParseManifest(std::string_view content_type, std::string_view bytes) {
  // nlohmann reports type errors and allocation failures by exception; none
  // may cross the module boundary.
  try {
    return ParseManifestUnchecked(content_type, bytes);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("manifest: ") + e.what());
  }
}

std::string DescriptorJson(const Descriptor& d) {
  try {
    nlohmann::ordered_json j;
    j["mediaType"] = d.media_type;
    j["digest"] = d.digest.str();
    j["size"] = d.size;
    if (!d.artifact_type.empty()) j["artifactType"] = d.artifact_type;
    if (!d.annotations_json.empty()) {
      auto a = nlohmann::ordered_json::parse(d.annotations_json, nullptr, /*allow_exceptions=*/false);
      if (a.is_object()) j["annotations"] = std::move(a);
    }
    return Dump(j);
  } catch (const std::exception&) {
    return "{}";  // only reachable on allocation failure
  }
}

Result<Descriptor> ParseDescriptorJson(std::string_view text) {
  try {
    if (!JsonDepthWithin(text)) return Status::InvalidArgument("descriptor nests too deeply");
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return Status::InvalidArgument("descriptor is not valid JSON");
    return ParseDescriptor(j, "descriptor");
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("descriptor: ") + e.what());
  }
}

}  // namespace pier
