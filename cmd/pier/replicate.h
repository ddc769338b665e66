#pragma once
// `pier replicate --policy NAME`: starts a manual execution of a policy on a
// running Pier (through its Harbor-compatible API) and follows it with a
// progress bar (bytes, rate, ETA) until it ends. Exit 0 when it Succeed, 1
// when it Failed or was Stopped, 2 on usage errors or an unreachable server.
#include <map>
#include <string>

namespace pier::cli {

extern const char* const kReplicateUsage;
int Replicate(const std::map<std::string, std::string>& flags);

}  // namespace pier::cli
