#pragma once
// Times in Harbor's JSON (creation_time, start_time, ...), printed the way
// Harbor prints them.
#include <chrono>
#include <string>

namespace pier {

// "2026-11-27T21:21:55.000Z" (UTC, milliseconds). The epoch (a default
// time_point) prints as "0001-01-01T00:00:00.000Z", Go's zero time, which is
// what Harbor shows for a time never set.
std::string FormatTime(std::chrono::system_clock::time_point t);

}  // namespace pier
