#include "replication/progress_store.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/internal_errors.h"
#include "cache/keys.h"

namespace pier::replication {
namespace {

std::string DestPart(int64_t dest) {
  char b[24];
  std::snprintf(b, sizeof b, "%020lld", static_cast<long long>(dest));
  return b;
}
std::string UploadKey(int64_t dest, std::string_view digest) {
  return "u/" + DestPart(dest) + "/" + std::string(digest);
}
std::string KnownPrefix(int64_t dest, std::string_view digest, const char* kind = "k/") {
  std::string k = kind + DestPart(dest) + "/" + std::string(digest);
  k.push_back('\0');
  return k;
}

}  // namespace

Result<std::unique_ptr<ProgressStore>> ProgressStore::Open(Store& store) {
  auto kv = store.OpenKeySpace(keys::kReplProgress);
  if (!kv.ok()) return kv.status();
  return std::make_unique<ProgressStore>(std::move(*kv));
}

std::optional<UploadProgress> ProgressStore::GetUpload(int64_t dest, std::string_view digest) {
  auto v = kv_->Get(UploadKey(dest, digest));
  if (!v.ok()) return std::nullopt;
  auto j = nlohmann::json::parse(*v, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  UploadProgress p;
  try {
    p.repo = j.value("repo", "");
    p.location = j.value("location", "");
    p.offset = j.value("offset", uint64_t{0});
  } catch (...) {
    return std::nullopt;
  }
  if (p.location.empty()) return std::nullopt;
  return p;
}

Status ProgressStore::PutUpload(int64_t dest, std::string_view digest, const UploadProgress& p) {
  nlohmann::json j{{"repo", p.repo}, {"location", p.location}, {"offset", p.offset}};
  return kv_->Write({{UploadKey(dest, digest), j.dump()}});
}

Status ProgressStore::DeleteUpload(int64_t dest, std::string_view digest) {
  return kv_->Write({{UploadKey(dest, digest), std::nullopt}});
}

std::vector<std::string> ProgressStore::KnownRepos(int64_t dest, std::string_view digest) {
  std::vector<std::string> out;
  std::string prefix = KnownPrefix(dest, digest);
  Status s = kv_->Scan(prefix, [&](std::string_view k, std::string_view) {
    out.emplace_back(k.substr(prefix.size()));
    return true;
  });
  // Fewer known repositories only means a blob HEAD or mount instead of a skip.
  if (!s.ok()) ReportInternalError("replication", "reading a destination's known repositories failed", s);
  return out;
}

bool ProgressStore::IsKnown(int64_t dest, std::string_view digest, std::string_view repo) {
  return kv_->Get(KnownPrefix(dest, digest) + std::string(repo)).ok();
}

Status ProgressStore::AddKnown(int64_t dest, std::string_view digest, std::string_view repo, bool upload_done) {
  std::vector<KvSpace::Op> ops;
  ops.emplace_back(KnownPrefix(dest, digest) + std::string(repo), std::string());
  if (upload_done) ops.emplace_back(UploadKey(dest, digest), std::nullopt);
  return kv_->Write(ops);
}

Status ProgressStore::ForgetKnown(int64_t dest, std::string_view digest, std::string_view repo) {
  return kv_->Write({{KnownPrefix(dest, digest) + std::string(repo), std::nullopt}});
}

Status ProgressStore::AddKnownManifest(int64_t dest, std::string_view digest, std::string_view repo) {
  return kv_->Write({{KnownPrefix(dest, digest, "m/") + std::string(repo), std::string()}});
}

bool ProgressStore::IsKnownManifest(int64_t dest, std::string_view digest, std::string_view repo) {
  return kv_->Get(KnownPrefix(dest, digest, "m/") + std::string(repo)).ok();
}

std::optional<double> ProgressStore::LinkRate(int64_t dest) {
  auto v = kv_->Get("r/" + DestPart(dest) + "/");
  if (!v.ok()) return std::nullopt;
  char* end = nullptr;
  double r = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || !(r > 0)) return std::nullopt;
  return r;
}

Status ProgressStore::NoteLinkRate(int64_t dest, double bytes_per_second) {
  if (!(bytes_per_second > 0)) return Status::OK();
  // Half old, half new: follows a link that changed within a few runs.
  const std::optional<double> old = LinkRate(dest);
  const double r = old ? (*old + bytes_per_second) / 2 : bytes_per_second;
  return kv_->Write({{"r/" + DestPart(dest) + "/", std::to_string(r)}});
}

std::optional<std::string> ProgressStore::GetZstdVerdict(int64_t dest) {
  auto v = kv_->Get("z/" + DestPart(dest) + "/");
  if (!v.ok()) return std::nullopt;
  return *v;
}

Status ProgressStore::PutZstdVerdict(int64_t dest, std::string_view refusal) {
  return kv_->Write({{"z/" + DestPart(dest) + "/", std::string(refusal)}});
}

Status ProgressStore::ForgetDestination(int64_t dest) {
  std::vector<KvSpace::Op> ops;
  for (const char* kind : {"u/", "k/", "m/", "z/", "r/"}) {
    PIER_TRY(kv_->Scan(std::string(kind) + DestPart(dest) + "/", [&](std::string_view k, std::string_view) {
      ops.emplace_back(std::string(k), std::nullopt);
      return true;
    }));
  }
  if (ops.empty()) return Status::OK();
  return kv_->Write(ops);
}

}  // namespace pier::replication
