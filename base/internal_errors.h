#pragma once
// Internal errors: failures that have no caller to return to (a background
// thread's bookkeeping write, a cleanup after the answer was sent). They are
// never dropped: ReportInternalError logs them and counts them per component;
// metrics/ exposes the counts as pier_internal_errors_total{component}.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace pier {

// Logs `what` with the status at error level and adds one to `component`'s
// count. `component` is a short fixed word ("engine", "store", ...): it
// becomes a label value, so never pass user input.
void ReportInternalError(std::string_view component, std::string_view what, const Status& status);

// Every component's count so far (components with none are absent).
std::map<std::string, uint64_t> InternalErrorCounts();

}  // namespace pier
