#pragma once
// Internal: turning a registry's unwanted HTTP answer into a Status with a
// message naming the operation, the status and the registry's error code,
// and into the machine-readable ClientError of the Call.
#include <string_view>

#include "adapter/client/call.h"
#include "adapter/client/transport.h"
#include "base/clock.h"
#include "base/status.h"

namespace pier::client {

// Classifies `response` (any status the caller did not expect): 401/403 →
// kAuth, 404 → kNotFound, 429 → kThrottled, other 4xx → kRemote4xx, 5xx →
// kRemote5xx, anything else → kProtocol; a DIGEST_INVALID code → kDigestMismatch.
// Fills call.error (status, code, Retry-After) and returns a Status whose
// code is NotFound for 404, DigestMismatch, OutOfRange for 416, else IOError.
// A Retry-After date is turned into seconds from `clock`'s now.
Status HttpFailure(const Clock& clock, Call& call, std::string_view operation, const HttpResponse& response);

// A failure of this client's own making or judgement (kind kProtocol,
// kDigestMismatch, kLocal...) with the operation named in the message.
Status ClientFailure(Call& call, ErrorKind kind, std::string_view operation, std::string_view what);

}  // namespace pier::client
