#pragma once
// The retention decision for one repository: a pure function of its
// artifacts, the policy and the time.
//
// Promises: only top-level artifacts are judged (not a child of an index in
// the repository, not a referrer: those follow their index or subject and
// are never deleted here; GC's delete_untagged and referrer sweep collect
// them once orphaned). Each enabled rule whose repository selectors pick
// the repository retains, among the artifacts its tag selectors pick, what
// its template says; an artifact retained by any rule stays ("or"), every
// other top-level artifact goes. A repository no enabled rule picks is out
// of scope: nothing in it is judged.
#include <cstdint>
#include <string_view>
#include <vector>

#include "cache/retention/policy.h"
#include "cache/store.h"

namespace pier::retention {

struct Verdict {
  ArtifactInfo artifact;
  int rule = -1;  // index in policy.rules of the first rule retaining it; -1: deleted
};

struct RepoDecision {
  bool in_scope = false;
  std::vector<Verdict> verdicts;  // top-level artifacts, newest push first
};

// `name` is the repository without its project (what selectors see).
RepoDecision Evaluate(const Policy& policy, std::string_view name, const std::vector<ArtifactInfo>& artifacts,
                      int64_t now_unix);

}  // namespace pier::retention
