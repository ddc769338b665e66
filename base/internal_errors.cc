#include "base/internal_errors.h"

#include <mutex>

#include "base/log.h"

namespace pier {
namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, uint64_t>& Counts() {
  static std::map<std::string, uint64_t> counts;
  return counts;
}

}  // namespace

void ReportInternalError(std::string_view component, std::string_view what, const Status& status) {
  log::Error(what, {{"component", std::string(component)}, {"error", status.ToString()}});
  std::lock_guard<std::mutex> lock(Mu());
  ++Counts()[std::string(component)];
}

std::map<std::string, uint64_t> InternalErrorCounts() {
  std::lock_guard<std::mutex> lock(Mu());
  return Counts();
}

}  // namespace pier
