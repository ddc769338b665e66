#include "bench/slowlink/config.h"

#include <charconv>
#include <map>

namespace pier::slowlink {
namespace {

constexpr uint64_t kMaxLatencyMs = 60'000;

std::optional<uint64_t> ParseUint(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

const std::map<std::string_view, std::string_view>& KnownFlags() {
  static const std::map<std::string_view, std::string_view> flags = {
      {"listen", "HOST:PORT"},   {"target", "HOST:PORT"},
      {"rate", "BYTES_PER_SEC"}, {"rate-per-conn", "BYTES_PER_SEC"},
      {"latency-ms", "N"},       {"cut-after", "BYTES"}, {"cut-down-after", "BYTES"},
      {"cut-every", "K"},        {"stats-file", "PATH"},
      {"direction", "up|both"},
  };
  return flags;
}

// Applies one flag to `c`; returns an error message or "".
std::string Apply(Config& c, std::string_view name, std::string_view value) {
  auto positive = [&](uint64_t& out) -> std::string {
    auto v = ParseUint(value);
    if (!v || *v == 0)
      return "--" + std::string(name) + " needs a positive integer, got '" + std::string(value) + "'";
    out = *v;
    return "";
  };
  if (name == "listen" || name == "target") {
    auto ep = ParseEndpoint(value);
    if (!ep)
      return "--" + std::string(name) + " needs HOST:PORT with a numeric address, got '" +
             std::string(value) + "'";
    (name == "listen" ? c.listen : c.target) = *ep;
    return "";
  }
  if (name == "rate") return positive(c.rate);
  if (name == "rate-per-conn") return positive(c.rate_per_conn);
  if (name == "cut-every") return positive(c.cut_every);
  if (name == "latency-ms") {
    auto v = ParseUint(value);
    if (!v || *v > kMaxLatencyMs)
      return "--latency-ms needs an integer 0.." + std::to_string(kMaxLatencyMs) + ", got '" +
             std::string(value) + "'";
    c.latency = std::chrono::milliseconds(*v);
    return "";
  }
  if (name == "cut-after") {
    auto v = ParseUint(value);
    if (!v) return "--cut-after needs a byte count, got '" + std::string(value) + "'";
    c.cut_after = *v;
    return "";
  }
  if (name == "cut-down-after") {
    auto v = ParseUint(value);
    if (!v || *v == 0) return "--cut-down-after needs a positive byte count, got '" + std::string(value) + "'";
    c.cut_down_after = *v;
    return "";
  }
  if (name == "stats-file") {
    if (value.empty()) return "--stats-file needs a path";
    c.stats_file = std::string(value);
    return "";
  }
  if (name == "direction") {
    if (value != "up" && value != "both")
      return "--direction needs 'up' or 'both', got '" + std::string(value) + "'";
    c.limit_down = value == "both";
    return "";
  }
  return "unknown flag --" + std::string(name);
}

}  // namespace

std::optional<boost::asio::ip::tcp::endpoint> ParseEndpoint(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = ParseUint(text.substr(colon + 1));
  if (!port || *port > 65535) return std::nullopt;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return boost::asio::ip::tcp::endpoint(address, static_cast<uint16_t>(*port));
}

ParseResult ParseFlags(std::span<const std::string_view> args) {
  ParseResult result;
  Config c;
  std::map<std::string_view, bool> seen;
  auto fail = [&](std::string message) {
    result.error = std::move(message);
    return result;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      result.help = true;
      return result;
    }
    if (!arg.starts_with("--")) return fail("unexpected argument '" + std::string(arg) + "'");
    arg.remove_prefix(2);
    std::string_view name = arg, value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else {
      if (!KnownFlags().contains(name)) return fail("unknown flag --" + std::string(name));
      if (i + 1 >= args.size()) return fail("--" + std::string(name) + " needs a value");
      value = args[++i];
    }
    if (seen[name]) return fail("--" + std::string(name) + " given twice");
    seen[name] = true;
    if (std::string error = Apply(c, name, value); !error.empty()) return fail(error);
  }
  if (!seen["listen"]) return fail("--listen is required");
  if (!seen["target"]) return fail("--target is required");
  if (seen["cut-every"] && !c.cut_after && !c.cut_down_after)
    return fail("--cut-every needs --cut-after or --cut-down-after");
  result.config = std::move(c);
  return result;
}

std::string Usage(std::string_view program) {
  std::string u = "usage: " + std::string(program) +
                  " --listen HOST:PORT --target HOST:PORT [options]\n"
                  "A loopback TCP proxy that models a slow, flaky link.\n"
                  "  --listen HOST:PORT        address to accept on; port 0 picks one. The first\n"
                  "                            stdout line is 'listening HOST:PORT'\n"
                  "  --target HOST:PORT        where each accepted connection is forwarded\n"
                  "  --rate BYTES_PER_SEC      cap shared by all connections (total)\n"
                  "  --rate-per-conn BYTES_PER_SEC  cap for each connection\n"
                  "  --direction up|both       rates apply client->target only (default up),\n"
                  "                            or both ways\n"
                  "  --latency-ms N            one-way delay added to data in each direction\n"
                  "  --cut-after BYTES         reset a connection once BYTES client->target bytes\n"
                  "                            reached the target\n"
                  "  --cut-down-after BYTES    reset a connection once BYTES target->client bytes\n"
                  "                            were delivered to the client (downloads)\n"
                  "  --cut-every K             cut only connections K, 2K, 3K, ... (default 1)\n"
                  "  --stats-file PATH         JSON counters, rewritten atomically after changes\n"
                  "                            (at most every 100 ms), on SIGUSR1 and at exit;\n"
                  "                            SIGUSR2 resets the counters\n"
                  "Exits 0 on SIGTERM/SIGINT, 2 on bad flags, 1 if it cannot listen.\n";
  return u;
}

}  // namespace pier::slowlink
