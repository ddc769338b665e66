// slowlink: a loopback TCP proxy modelling a slow, flaky link (see --help
// and README.md). Prints "listening HOST:PORT" as its first stdout line once
// it accepts connections; SIGUSR1 writes the stats file, SIGUSR2 resets the
// counters, SIGTERM/SIGINT write final stats and exit 0. Bad flags exit 2.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/slowlink/config.h"
#include "bench/slowlink/proxy.h"

namespace asio = boost::asio;
using pier::slowlink::Proxy;

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto parsed = pier::slowlink::ParseFlags(args);
  if (parsed.help) {
    std::fputs(pier::slowlink::Usage("slowlink").c_str(), stdout);
    return 0;
  }
  if (!parsed.config) {
    std::fprintf(stderr, "slowlink: %s\n%s", parsed.error.c_str(), pier::slowlink::Usage("slowlink").c_str());
    return 2;
  }

  asio::io_context io(1);
  std::string error;
  auto proxy = Proxy::Create(io, *parsed.config, &error);
  if (!proxy) {
    std::fprintf(stderr, "slowlink: %s\n", error.c_str());
    return 1;
  }

  asio::signal_set signals(io, SIGINT, SIGTERM, SIGUSR1);
  signals.add(SIGUSR2);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        if (signal == SIGUSR1) {
          proxy->FlushStats();
        } else if (signal == SIGUSR2) {
          proxy->ResetStats();
        } else {
          proxy->Stop();
          io.stop();
          return;
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  proxy->Start();
  proxy->FlushStats();  // the file exists (all zeros) before the first connection
  const auto local = proxy->local_endpoint();
  const std::string host =
      local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string();
  std::printf("listening %s:%u\n", host.c_str(), static_cast<unsigned>(local.port()));
  std::fflush(stdout);

  io.run();
  return 0;
}
