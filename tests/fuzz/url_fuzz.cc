// URLs from a remote registry: the configured base URL (Url::Parse) and
// the Location and Link values it answers with (Url::Resolve against the
// request URL). A parsed or resolved URL prints with str() to text that
// parses back to the same parts; its target always starts with '/'.
#include <cstddef>
#include <cstdint>

#include "adapter/client/url.h"
#include "tests/fuzz/fuzz_check.h"

namespace pc = pier::client;

namespace {

void CheckUrl(const pc::Url& u) {
  FUZZ_CHECK(u.scheme == "http" || u.scheme == "https", "http or https only");
  FUZZ_CHECK(!u.host.empty() && u.port != 0, "a host and a port");
  FUZZ_CHECK(!u.target.empty() && u.target[0] == '/', "the target starts with '/'");
  auto back = pc::Url::Parse(u.str());
  FUZZ_CHECK(back.ok(), "str() parses");
  FUZZ_CHECK(
      back->scheme == u.scheme && back->host == u.host && back->port == u.port && back->target == u.target,
      "str() round-trips");
  FUZZ_CHECK(back->Origin() == u.Origin() && back->HostHeader() == u.HostHeader(), "origin and Host agree");
  pc::Url q = u;
  q.AddQuery("last", "a b&c");
  FUZZ_CHECK(q.query().find("last=a%20b%26c") != std::string_view::npos, "AddQuery escapes its value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = pier::fuzz::AsText(data, size);
  auto u = pc::Url::Parse(text);
  if (u.ok()) CheckUrl(*u);
  static const pc::Url base =
      *pc::Url::Parse("https://registry.example.com:5000/v2/team/app/blobs/uploads/?_state=x");
  auto r = base.Resolve(text);
  if (r.ok()) CheckUrl(*r);
  return 0;
}
