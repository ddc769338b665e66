#include "replication/observer.h"

namespace pier::replication {

const char* BlobOutcomeName(BlobOutcome o) {
  switch (o) {
    case BlobOutcome::kUploaded: return "uploaded";
    case BlobOutcome::kSkipped: return "skipped";
    case BlobOutcome::kMounted: return "mounted";
    case BlobOutcome::kFailed: return "failed";
  }
  return "failed";
}

const char* FailureReasonName(FailureReason r) {
  switch (r) {
    case FailureReason::kAuth: return "auth";
    case FailureReason::kNetwork: return "network";
    case FailureReason::kTimeout: return "timeout";
    case FailureReason::kRemote4xx: return "remote_4xx";
    case FailureReason::kRemote5xx: return "remote_5xx";
    case FailureReason::kDigest: return "digest";
    case FailureReason::kOther: return "other";
  }
  return "other";
}

}  // namespace pier::replication
