#include "base/status.h"

#include <iterator>

namespace pier {

std::string Status::ToString() const {
  static constexpr const char* kNames[] = {"OK",          "NotFound",          "InvalidArgument", "DigestMismatch",
                                           "SizeInvalid", "OutOfRange",        "AlreadyExists",   "FailedPrecondition",
                                           "Unsupported", "Corruption",        "IOError",         "Internal",
                                           "Unavailable", "ResourceExhausted", "QuotaExceeded"};
  static_assert(std::size(kNames) == static_cast<size_t>(Code::kQuotaExceeded) + 1, "a name per code");
  std::string s = kNames[static_cast<int>(code_)];
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace pier
