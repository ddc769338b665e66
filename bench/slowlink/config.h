#pragma once
// Config: the shape of the modelled link, and the command-line flags that
// set it. ParseFlags accepts `--flag value` and `--flag=value`; it never
// exits or prints, so callers (main, tests) decide what an error means.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pier::slowlink {

struct Config {
  boost::asio::ip::tcp::endpoint listen;  // port 0: ephemeral
  boost::asio::ip::tcp::endpoint target;
  uint64_t rate = 0;                     // bytes/s shared by all connections; 0 = unlimited
  uint64_t rate_per_conn = 0;            // bytes/s per connection; 0 = unlimited
  bool limit_down = false;               // rates also apply target->client (--direction both)
  std::chrono::milliseconds latency{0};  // one-way, added in both directions
  std::optional<uint64_t> cut_after;     // client->target bytes before a cut
  std::optional<uint64_t> cut_down_after;  // target->client bytes before a cut
  uint64_t cut_every = 1;                // cut connections k, 2k, 3k, ... (1-based)
  std::string stats_file;                // empty: no stats file
};

struct ParseResult {
  std::optional<Config> config;  // set on success
  bool help = false;             // --help / -h was given
  std::string error;             // set on failure
};

// args excludes the program name.
ParseResult ParseFlags(std::span<const std::string_view> args);

// "host:port" or "[v6host]:port" with a numeric address; nullopt if invalid.
std::optional<boost::asio::ip::tcp::endpoint> ParseEndpoint(std::string_view text);

// The usage text (ends with a newline).
std::string Usage(std::string_view program);

}  // namespace pier::slowlink
