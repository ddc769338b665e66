#pragma once
// OCI Distribution error responses: {"errors":[{"code","message","detail"}]}
// with the spec's codes, and the mapping from store Status to them.
#include <string>
#include <string_view>

#include "adapter/http/message.h"
#include "base/status.h"

namespace pier::registry {

// A JSON error response with the registry API version header.
http::Response OciError(int status, std::string_view code, std::string_view message,
                        std::string_view detail = {});

// Maps a store Status to an error response. `not_found_code` is the spec
// code to use for NotFound (BLOB_UNKNOWN, MANIFEST_UNKNOWN, ...);
// ResourceExhausted (a full disk) is NoSpace().
http::Response FromStatus(const Status& s, std::string_view not_found_code);

// 403 DENIED whose message says "no space left on device" (with the
// status's own text): what a write refused for lack of room is answered.
http::Response NoSpace(const Status& s);

// Adds the headers every registry response carries.
void AddCommonHeaders(http::Response& r);

}  // namespace pier::registry
