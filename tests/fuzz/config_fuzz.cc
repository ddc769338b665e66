// The config file (`pier serve --config`). ParseConfig never throws; a
// refusal is InvalidArgument; parsing the same text twice gives the same
// answer and an accepted config parses again on top of itself.
// The config may name secret files (authorization_file, access_secret_file,
// ca_certificate_file) that ParseConfig reads: inputs mentioning device or
// proc paths (or \u escapes, which could spell them) are skipped, so a
// mutation cannot make it read /dev/zero or block on /dev/stdin.
#include <cstddef>
#include <cstdint>

#include "cmd/pier/config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  for (std::string_view special : {"/dev", "/proc", "/sys", "\\u", "/fd"}) {
    if (text.find(special) != std::string_view::npos) return 0;
  }
  pier::Config cfg;
  pier::Status s = pier::ParseConfig(text, &cfg);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == pier::Code::kInvalidArgument, "ParseConfig refuses with InvalidArgument");
    return 0;
  }
  pier::Status again = pier::ParseConfig(text, &cfg);
  FUZZ_CHECK(again.ok(), "an accepted config parses on top of itself");
  std::string host;
  uint16_t port = 0;
  (void)pier::SplitListen(cfg.listen, &host, &port);
  if (!cfg.metrics_listen.empty()) (void)pier::SplitListen(cfg.metrics_listen, &host, &port);
  return 0;
}
