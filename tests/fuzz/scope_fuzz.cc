// Docker token scopes ("repository:team/app:pull,push") as the token
// endpoint receives them in `scope` query values. A parsed scope renders
// with ToString to text that parses to the same scope.
#include <cstddef>
#include <cstdint>

#include "adapter/auth/auth.h"
#include "adapter/auth/scope.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  auto one = pier::auth::ParseScope(text);
  if (one.ok()) {
    FUZZ_CHECK(!one->type.empty() && !one->name.empty() && !one->actions.empty(),
               "a scope has all three parts");
    auto back = pier::auth::ParseScope(one->ToString());
    FUZZ_CHECK(back.ok() && *back == *one, "Scope::ToString round-trips");
    (void)pier::auth::ParseActions(one->actions);
  }
  auto many = pier::auth::ParseScopes(text);
  if (many.ok()) {
    for (const auto& s : *many) {
      auto back = pier::auth::ParseScope(s.ToString());
      FUZZ_CHECK(back.ok() && *back == s, "every scope of a list round-trips");
    }
    (void)pier::auth::GrantsCover(*many, "team/app", pier::auth::kPull | pier::auth::kPush);
    (void)pier::auth::GrantsCatalog(*many);
  }
  return 0;
}
