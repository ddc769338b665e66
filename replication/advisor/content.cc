#include "replication/advisor/content.h"

#include "replication/advisor/advisor.h"

namespace pier::advisor {

std::optional<uint64_t> EstimatedZstd(const SummaryOrError&) { return std::nullopt; }

void AddContent(nlohmann::json&, const Image&, const std::optional<Image>&, const Summaries&,
                const std::vector<Destination>&) {}

Result<std::shared_ptr<const inspect::LayerSummary>> Advisor::Summary(std::string_view, const Digest&,
                                                                      std::stop_token) {
  return Status::Unsupported("not yet");
}

}  // namespace pier::advisor
