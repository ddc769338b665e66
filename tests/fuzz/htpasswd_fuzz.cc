// htpasswd files (read at startup, and again on reload). Parse never
// throws; an accepted file holds at most one user per non-comment line, and
// comments and blank lines change nothing. Verify is not called: a bcrypt
// cost of 31 is a valid line and would take hours per call.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapter/auth/auth.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  auto h = pier::auth::Htpasswd::Parse(text);
  if (!h.ok()) {
    FUZZ_CHECK(h.status().code() == pier::Code::kInvalidArgument, "Parse refuses with InvalidArgument");
    FUZZ_CHECK(h.status().message().rfind("line ", 0) == 0, "a refusal names the line");
    return 0;
  }
  size_t lines = 1;
  for (char c : text) lines += c == '\n';
  FUZZ_CHECK(h->size() <= lines, "at most one user per line");
  auto commented = pier::auth::Htpasswd::Parse("# comment\n\n" + std::string(text));
  FUZZ_CHECK(commented.ok() && commented->size() == h->size(), "comments and blank lines change nothing");
  return 0;
}
