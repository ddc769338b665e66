#pragma once
// Docker token scopes ("repository:team/app:pull,push", "registry:catalog:*")
// and the `access` entries of a token, which have the same three parts.
//
// Grammar (distribution's token spec): type [ "(" class ")" ] ":" name ":"
// action [ "," action ]*. The name may itself hold ':' (a registry host
// with a port, "localhost:5000/team/app"), so the type ends at the first
// ':' and the actions start after the last one.
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier::auth {

struct Scope {
  std::string type;  // "repository", "registry", ... (class suffix removed)
  std::string name;
  std::vector<std::string> actions;  // as written, duplicates removed, order kept

  bool operator==(const Scope&) const = default;
  // Back to "type:name:a,b".
  std::string ToString() const;
};

// One scope. InvalidArgument naming the scope for a bad shape, an empty or
// unusual type/action word, or a repository name that is neither a valid
// repository name nor "host[:port]/" followed by one.
Result<Scope> ParseScope(std::string_view text);

// A `scope` query value: one or more scopes separated by spaces (OAuth2
// style; Docker clients also repeat the parameter instead).
Result<std::vector<Scope>> ParseScopes(std::string_view text);

// Whether the grants include every action bit of `actions` (auth.h kPull...)
// on repository `name` ("*" among a grant's actions covers them all).
bool GrantsCover(const std::vector<Scope>& grants, std::string_view name, unsigned actions);
// Whether the grants include registry:catalog:*.
bool GrantsCatalog(const std::vector<Scope>& grants);

}  // namespace pier::auth
