// Where blob bytes and records live: storage.type/storage.s3 and metadata
// (issue 14). Absent: local files and RocksDB under --data, as always.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "adapter/client/url.h"
#include "base/json_fields.h"
#include "cmd/pier/config.h"

namespace pier {
namespace {

using json = nlohmann::json;

// S3's bucket naming rules (also Aliyun OSS's): 3-63 characters, lower-case
// letters, digits, dots and hyphens, starting and ending with a letter or digit.
bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) return false;
  for (char c : b) {
    if (!alnum(c) && c != '.' && c != '-') return false;
  }
  return b.find("..") == std::string_view::npos;
}

// A key prefix: path segments of safe characters, no empty, "." or ".."
// segment (object keys are built from it; nothing may climb or collide).
Status NormalizePrefix(std::string* prefix) {
  if (prefix->empty()) return Status::OK();
  if (prefix->back() != '/') prefix->push_back('/');
  if (prefix->size() > 256) return Status::InvalidArgument("storage.s3.prefix: at most 255 characters");
  size_t start = 0;
  while (start < prefix->size()) {
    size_t end = prefix->find('/', start);
    std::string_view seg(prefix->data() + start, end - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return Status::InvalidArgument("storage.s3.prefix: must be path segments like \"team/pier\" (no empty, . or .. segment)");
    }
    for (char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.';
      if (!ok) return Status::InvalidArgument("storage.s3.prefix: only letters, digits, '-', '_', '.' and '/'");
    }
    start = end + 1;
  }
  return Status::OK();
}

Status ParseS3(const json& s3, S3StorageConfig* out) {
  const char* w = "storage.s3";
  PIER_TRY(CheckKeys(s3, w,
                     {"endpoint", "region", "bucket", "prefix", "path_style", "access_key", "secret_key",
                      "secret_key_file", "ca", "redirect"}));
  PIER_TRY(ReadString(s3, w, "endpoint", &out->endpoint));
  PIER_TRY(ReadString(s3, w, "region", &out->region));
  PIER_TRY(ReadString(s3, w, "bucket", &out->bucket));
  PIER_TRY(ReadString(s3, w, "prefix", &out->prefix));
  PIER_TRY(ReadBool(s3, w, "path_style", &out->path_style));
  PIER_TRY(ReadString(s3, w, "access_key", &out->access_key));
  PIER_TRY(ReadString(s3, w, "secret_key", &out->secret_key));
  PIER_TRY(ReadString(s3, w, "ca", &out->ca));
  PIER_TRY(ReadBool(s3, w, "redirect", &out->redirect));
  std::string secret_file;
  PIER_TRY(ReadString(s3, w, "secret_key_file", &secret_file));
  if (HasField(s3, "secret_key_file")) {
    if (HasField(s3, "secret_key")) {
      return Status::InvalidArgument("storage.s3.secret_key_file: give secret_key or secret_key_file, not both");
    }
    Result<std::string> secret = ReadSecretFile("storage.s3.secret_key_file", secret_file);
    if (!secret.ok()) return secret.status();
    out->secret_key = std::move(*secret);
  }
  return Status::OK();
}

// Checked once the whole storage object is read: the s3 block may come
// before or after "type".
Status CheckS3(S3StorageConfig* s3) {
  if (s3->endpoint.empty()) return Status::InvalidArgument("storage.s3.endpoint: required with storage.type \"s3\"");
  auto url = client::Url::Parse(s3->endpoint);
  if (!url.ok() || (url->path() != "/" && !url->path().empty()) || !url->query().empty()) {
    return Status::InvalidArgument("storage.s3.endpoint: must be http(s)://host[:port] without a path, not \"" +
                                   s3->endpoint + "\"");
  }
  if (!ValidBucket(s3->bucket)) {
    return Status::InvalidArgument("storage.s3.bucket: must be 3-63 characters of a-z, 0-9, '.' and '-', not \"" +
                                   s3->bucket + "\"");
  }
  if (s3->region.empty() || s3->region.find_first_of(" /\r\n") != std::string::npos) {
    return Status::InvalidArgument("storage.s3.region: must be a region name such as us-east-1");
  }
  if (s3->access_key.empty()) return Status::InvalidArgument("storage.s3.access_key: required");
  if (s3->secret_key.empty()) {
    return Status::InvalidArgument("storage.s3.secret_key: required (or secret_key_file)");
  }
  if (s3->access_key.find_first_of("\r\n/ ") != std::string::npos) {
    return Status::InvalidArgument("storage.s3.access_key: must not contain spaces, slashes or newlines");
  }
  if (!s3->path_style && s3->redirect && url->scheme == "https" && s3->bucket.find('.') != std::string::npos) {
    // A dotted bucket as a host name breaks the endpoint's wildcard certificate.
    return Status::InvalidArgument("storage.s3.bucket: a bucket with dots needs path_style over https");
  }
  return NormalizePrefix(&s3->prefix);
}

// "password = x" among libpq's keyword/value pairs, or "user:pw@" in a URI.
bool DsnHoldsPassword(std::string_view dsn) {
  for (size_t at = dsn.find("password"); at != std::string_view::npos; at = dsn.find("password", at + 1)) {
    size_t i = at + 8;
    while (i < dsn.size() && dsn[i] == ' ') ++i;
    if (i < dsn.size() && dsn[i] == '=') return true;
  }
  if (dsn.starts_with("postgres://") || dsn.starts_with("postgresql://")) {
    std::string_view rest = dsn.substr(dsn.find("//") + 2);
    const size_t at = rest.find('@');
    if (at != std::string_view::npos && rest.substr(0, at).find(':') != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

Result<std::string> ReadSecretFile(const std::string& where, const std::string& path) {
  if (path.empty()) return Status::InvalidArgument(where + ": must be a file path");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(where + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string value = ss.str();
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) return Status::InvalidArgument(where + ": " + path + " is empty");
  return value;
}

Status ParseStorageBackend(const json& st, StorageConfig* out) {
  PIER_TRY(ReadString(st, "storage", "type", &out->type));
  if (out->type != "filesystem" && out->type != "s3") {
    return Status::InvalidArgument("storage.type: must be \"filesystem\" or \"s3\", not \"" + out->type + "\"");
  }
  if (HasField(st, "s3")) PIER_TRY(ParseS3(st["s3"], &out->s3));
  if (out->type == "s3") return CheckS3(&out->s3);
  return Status::OK();
}

Status ParseMetadata(const json& m, MetadataConfig* out) {
  PIER_TRY(CheckKeys(m, "metadata", {"type", "postgres"}));
  PIER_TRY(ReadString(m, "metadata", "type", &out->type));
  if (out->type != "rocksdb" && out->type != "postgres") {
    return Status::InvalidArgument("metadata.type: must be \"rocksdb\" or \"postgres\", not \"" + out->type + "\"");
  }
  if (HasField(m, "postgres")) {
    const json& p = m["postgres"];
    const char* w = "metadata.postgres";
    PIER_TRY(CheckKeys(p, w, {"dsn", "password", "password_file", "pool_size"}));
    PIER_TRY(ReadString(p, w, "dsn", &out->postgres_dsn));
    PIER_TRY(ReadInt(p, w, "pool_size", 2, 200, &out->postgres_pool_size));
    PIER_TRY(ReadString(p, w, "password", &out->postgres_password));
    std::string file;
    PIER_TRY(ReadString(p, w, "password_file", &file));
    if (HasField(p, "password_file")) {
      if (HasField(p, "password")) {
        return Status::InvalidArgument("metadata.postgres.password_file: give password or password_file, not both");
      }
      Result<std::string> pw = ReadSecretFile("metadata.postgres.password_file", file);
      if (!pw.ok()) return pw.status();
      out->postgres_password = std::move(*pw);
    }
  }
  if (out->type == "postgres") {
    if (out->postgres_dsn.empty()) {
      return Status::InvalidArgument("metadata.postgres.dsn: required with metadata.type \"postgres\"");
    }
    // The password travels separately (a file); one in the DSN would be logged with it.
    if (DsnHoldsPassword(out->postgres_dsn)) {
      return Status::InvalidArgument("metadata.postgres.dsn: put the password in password_file, not in the dsn");
    }
  }
  return Status::OK();
}

}  // namespace pier
