#include "cache/retention/evaluator.h"

#include <algorithm>
#include <set>
#include <string>

#include "cache/retention/selectors.h"

namespace pier::retention {
namespace {

constexpr int64_t kDay = 86400;

// Indexes into `cands` that `rule`'s template retains.
std::vector<size_t> Retain(const Rule& rule, const std::vector<const ArtifactInfo*>& cands, int64_t now) {
  std::vector<size_t> order(cands.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto newest_first = [&](auto field) {
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return field(*cands[a]) > field(*cands[b]); });
    if (order.size() > static_cast<size_t>(rule.param)) order.resize(static_cast<size_t>(rule.param));
  };
  auto within = [&](auto field) {
    std::erase_if(order, [&](size_t i) {
      const int64_t t = field(*cands[i]);
      return t <= 0 || t < now - rule.param * kDay;
    });
  };
  auto pushed = [](const ArtifactInfo& a) { return a.pushed_unix; };
  auto pulled = [](const ArtifactInfo& a) { return a.pulled_unix; };
  if (rule.template_id == "latestPushedK") newest_first(pushed);
  else if (rule.template_id == "latestPulledN") newest_first(pulled);
  else if (rule.template_id == "nDaysSinceLastPush") within(pushed);
  else if (rule.template_id == "nDaysSinceLastPull") within(pulled);
  else if (rule.template_id != "always") order.clear();  // unknown: retains nothing (ParsePolicy refuses it)
  return order;
}

}  // namespace

RepoDecision Evaluate(const Policy& policy, std::string_view name, const std::vector<ArtifactInfo>& artifacts,
                      int64_t now_unix) {
  RepoDecision out;
  std::set<std::string> children;
  for (const auto& a : artifacts)
    for (const auto& c : a.children) children.insert(c.str());
  std::vector<const ArtifactInfo*> top;
  for (const auto& a : artifacts) {
    if (a.subject || children.count(a.digest.str())) continue;
    top.push_back(&a);
  }
  std::stable_sort(top.begin(), top.end(),
                   [](const ArtifactInfo* a, const ArtifactInfo* b) { return a->pushed_unix > b->pushed_unix; });
  std::vector<int> kept_by(top.size(), -1);
  for (size_t r = 0; r < policy.rules.size(); ++r) {
    const Rule& rule = policy.rules[r];
    if (rule.disabled || !RepoSelected(rule.repo_selectors, name)) continue;
    out.in_scope = true;
    std::vector<size_t> idx;
    std::vector<const ArtifactInfo*> cands;
    for (size_t i = 0; i < top.size(); ++i) {
      if (!ArtifactSelected(rule.tag_selectors, *top[i])) continue;
      idx.push_back(i);
      cands.push_back(top[i]);
    }
    for (size_t k : Retain(rule, cands, now_unix)) {
      if (kept_by[idx[k]] < 0) kept_by[idx[k]] = static_cast<int>(r);
    }
  }
  if (!out.in_scope) return out;
  for (size_t i = 0; i < top.size(); ++i) out.verdicts.push_back(Verdict{*top[i], kept_by[i]});
  return out;
}

}  // namespace pier::retention
