#include "base/status.h"

namespace pier {

std::string Status::ToString() const {
  static constexpr const char* kNames[] = {"OK",          "NotFound",          "InvalidArgument", "DigestMismatch",
                                           "SizeInvalid", "OutOfRange",        "AlreadyExists",   "FailedPrecondition",
                                           "Unsupported", "Corruption",        "IOError",         "Internal",
                                           "Unavailable", "ResourceExhausted"};
  std::string s = kNames[static_cast<int>(code_)];
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace pier
