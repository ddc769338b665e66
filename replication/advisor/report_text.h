#pragma once
// The advisor's report (advisor.h, JSON) as a table for people on a
// terminal: `pier report` without --json.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace pier::advisor {

// Renders a report; fields it does not know are ignored, missing ones shown
// as "-", so an older or newer server's report still prints.
std::string RenderReport(const nlohmann::json& report);

// "61.2 MB" (decimal units, as registries and skopeo print them).
std::string HumanBytes(uint64_t bytes);
// "45 s", "3 min 05 s", "2 h 10 min"; "-" for null.
std::string HumanSeconds(const nlohmann::json& seconds);

}  // namespace pier::advisor
