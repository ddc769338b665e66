// Project quotas (Harbor's model): limits in the QuotaBook, usage in
// ProjectUsage, refusals worded as Harbor words them
// (controller/quota/controller.go).
#include <algorithm>
#include <unordered_map>

#include "base/human_bytes.h"
#include "base/names.h"
#include "cache/keys.h"
#include "cache/store_impl.h"

namespace pier::internal {

Status QuotaRefusal(const StoreState& st, std::string_view project, uint64_t bytes) {
  st.quota_refusals.fetch_add(1);
  auto used = ProjectUsed(st, project);
  return Status::QuotaExceeded(
      "Quota exceeded when processing the request of adding " + HumanBytes(bytes) +
      " of storage resource, which when updated to current usage of " + HumanBytes(used.ok() ? *used : 0) +
      " will exceed the configured upper limit of " +
      HumanBytes(static_cast<uint64_t>(std::max<int64_t>(0, st.quotas.Limit(project)))) + " (project " +
      std::string(project) + ")");
}

Status ScanHoldings(const Db& db, const std::function<void(uint64_t size)>& blob, const HoldingVisitor& hold) {
  std::unordered_map<std::string, uint64_t> sizes;
  Status s = db.Scan(Cf::kBlobs, "", "", [&](std::string_view k, std::string_view v) {
    records::BlobRecord r;
    if (!records::Decode(v, &r)) return true;
    sizes.emplace(std::string(k), r.size);
    if (blob) blob(r.size);
    return true;
  });
  if (!s.ok()) return s;
  s = db.Scan(Cf::kLinks, "", "", [&](std::string_view k, std::string_view) {
    const size_t sep = k.find('\0');
    if (sep == std::string_view::npos) return true;
    auto it = sizes.find(std::string(k.substr(sep + 1)));
    if (it != sizes.end()) hold(ProjectOf(k.substr(0, sep)), ProjectUsage::Kind::kBlob, it->first, it->second);
    return true;
  });
  if (!s.ok()) return s;
  return db.Scan(Cf::kManifests, "", "", [&](std::string_view k, std::string_view v) {
    const size_t sep = k.find('\0');
    records::ManifestRecord r;
    if (sep != std::string_view::npos && records::Decode(v, &r)) {
      hold(ProjectOf(k.substr(0, sep)), ProjectUsage::Kind::kManifest, k.substr(sep + 1), r.bytes.size());
    }
    return true;
  });
}

Status LoadProjectUsage(StoreState& st) {
  return ScanHoldings(*st.db, nullptr,
                      [&](std::string_view project, ProjectUsage::Kind kind, std::string_view digest, uint64_t size) {
                        st.usage.Add(project, kind, digest, size);
                      });
}

namespace {

ProjectQuota ToQuota(const std::string& project, const QuotaBook::Entry& e, uint64_t used) {
  return ProjectQuota{e.id, project, e.hard, used, e.created_unix, e.updated_unix};
}

}  // namespace

Result<std::vector<ProjectQuota>> StoreImpl::ListQuotas() {
  // A project that holds something gets its id when first listed.
  auto all_used = ProjectUsages(*st_);
  if (!all_used.ok()) return all_used.status();
  const auto& used = *all_used;
  for (const auto& [project, bytes] : used) {
    if (bytes == 0) continue;
    if (auto e = st_->quotas.Ensure(project, st_->Now()); !e.ok()) return e.status();
  }
  std::vector<ProjectQuota> out;
  for (const auto& [project, e] : st_->quotas.All()) {
    auto u = used.find(project);
    out.push_back(ToQuota(project, e, u == used.end() ? 0 : u->second));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<ProjectQuota> StoreImpl::GetQuota(int64_t id) {
  auto all = ListQuotas();
  if (!all.ok()) return all.status();
  for (auto& q : *all) {
    if (q.id == id) return q;
  }
  return Status::NotFound("quota " + std::to_string(id) + " unknown");
}

Result<ProjectQuota> StoreImpl::SetQuota(std::string_view project, int64_t hard) {
  if (project.find('/') != std::string_view::npos || !IsValidRepositoryName(project)) {
    return Status::InvalidArgument("project: not a repository name component: " + std::string(project.substr(0, 64)));
  }
  if (hard < -1) return Status::InvalidArgument("hard.storage: must be -1 (no limit) or a number of bytes");
  auto e = st_->quotas.SetLimit(project, hard, st_->Now());
  if (!e.ok()) return e.status();
  auto used = ProjectUsed(*st_, project);
  if (!used.ok()) return used.status();
  return ToQuota(std::string(project), *e, *used);
}

Status StoreImpl::CheckQuota(std::string_view repo, uint64_t bytes) {
  if (Status s = CheckRepo(repo); !s.ok()) return s;
  const std::string_view project = ProjectOf(repo);
  const int64_t limit = st_->quotas.Limit(project);
  if (limit < 0) return Status::OK();
  auto used = ProjectUsed(*st_, project);
  if (!used.ok()) return used.status();
  // Harbor refuses even an empty request once the project is over its limit.
  if (*used + bytes > static_cast<uint64_t>(limit) || *used > static_cast<uint64_t>(limit)) {
    return QuotaRefusal(*st_, project, bytes);
  }
  return Status::OK();
}

}  // namespace pier::internal
