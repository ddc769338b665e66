#include "cache/project_usage.h"

namespace pier {

std::string_view ProjectOf(std::string_view repo) { return repo.substr(0, repo.find('/')); }

std::string ProjectUsage::Key(std::string_view project, Kind kind, std::string_view digest) {
  std::string k(project);
  k.push_back('\0');
  k.push_back(static_cast<char>(kind));
  k.append(digest);
  return k;
}

bool ProjectUsage::Add(std::string_view project, Kind kind, std::string_view digest, uint64_t size, int64_t limit) {
  std::lock_guard lock(mu_);
  Ref& ref = refs_[Key(project, kind, digest)];
  if (ref.holders == 0) {
    uint64_t& used = used_[std::string(project)];
    if (limit >= 0 && used + size > static_cast<uint64_t>(limit)) {
      refs_.erase(Key(project, kind, digest));
      return false;
    }
    used += size;
    ref.size = size;
  }
  ++ref.holders;
  return true;
}

void ProjectUsage::Remove(std::string_view project, Kind kind, std::string_view digest) {
  std::lock_guard lock(mu_);
  auto it = refs_.find(Key(project, kind, digest));
  if (it == refs_.end()) return;
  if (--it->second.holders > 0) return;
  uint64_t& used = used_[std::string(project)];
  used -= std::min(used, it->second.size);
  refs_.erase(it);
}

bool ProjectUsage::Holds(std::string_view project, Kind kind, std::string_view digest) const {
  std::lock_guard lock(mu_);
  return refs_.contains(Key(project, kind, digest));
}

uint64_t ProjectUsage::Used(std::string_view project) const {
  std::lock_guard lock(mu_);
  auto it = used_.find(std::string(project));
  return it == used_.end() ? 0 : it->second;
}

std::map<std::string, uint64_t> ProjectUsage::All() const {
  std::lock_guard lock(mu_);
  return std::map<std::string, uint64_t>(used_.begin(), used_.end());
}

}  // namespace pier
