#pragma once
// The advisor's content findings (advisor.h): what the layer streams say
// about a build, given the summaries of its layers and of the previous
// build's (cache/inspect). Pure: no store, no network.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "replication/advisor/destinations.h"
#include "replication/advisor/image.h"

namespace pier::inspect {
struct LayerSummary;
}

namespace pier::advisor {

// A layer's summary, or why it could not be read.
struct SummaryOrError {
  std::shared_ptr<const inspect::LayerSummary> summary;
  std::string error;
};
using Summaries = std::map<std::string, SummaryOrError>;  // by layer digest

// The estimated zstd size of a layer from its summary (nullopt: unknown).
std::optional<uint64_t> EstimatedZstd(const SummaryOrError& s);

// Adds "content" to each entry of report["layers"] (changed files, bytes
// already in the previous build) and the report's "fat_jars",
// "package_managers" and content "findings". `previous` may be absent.
void AddContent(nlohmann::json& report, const Image& current, const std::optional<Image>& previous,
                const Summaries& summaries, const std::vector<Destination>& destinations);

}  // namespace pier::advisor
