#pragma once
// The header and body dialects a registry answers in, parsed without I/O so
// each can be tested alone: WWW-Authenticate challenges, Link pagination,
// upload Range, token-endpoint JSON, OCI error JSON and Retry-After.
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace pier::client {

// One challenge of a WWW-Authenticate header (RFC 9110 section 11.6.1).
struct Challenge {
  std::string scheme;  // lower-cased: "basic", "bearer", ...
  // auth-params in order, names lower-cased, quoted values unescaped.
  std::vector<std::pair<std::string, std::string>> params;

  // Value of a parameter (case-insensitive name), empty when absent.
  std::string Param(std::string_view name) const;
};

// Parses a WWW-Authenticate value; one header may carry several challenges
// ("Basic realm=\"r\", Bearer realm=\"t\",service=\"s\""). Malformed parts
// are skipped; an unusable header gives an empty list, never an error.
std::vector<Challenge> ParseChallenges(std::string_view header);

// The target of the `rel="next"` link in a Link header value (several links
// may be comma-separated; rel may be unquoted or a space-separated list).
// nullopt when there is none.
std::optional<std::string> ParseNextLink(std::string_view header);

// Parses an upload's `Range: 0-<last>` (also `bytes=0-<last>`) into the
// number of bytes the registry has committed: last + 1.
// Decision on the "0-0" ambiguity: registry:2 (and Pier) answer "0-0" both
// for an empty session and for one holding exactly 1 byte. "0-0" is read as
// 0: a fresh session is by far the common case, this client never sends a
// 1-byte first chunk unless the whole blob is 1 byte (which goes up
// monolithically), and if a server did hold 1 byte, re-sending from 0 is
// caught (416 on a spec-following server, DIGEST_INVALID on registry:2,
// which appends) and the upload restarts instead of storing wrong bytes.
// "0--1" (some servers' empty session) is 0 too. InvalidArgument when
// malformed or when the range does not start at 0.
Result<uint64_t> ParseUploadRange(std::string_view value);

// The whole blob's size a GET answer announces: the total of a 206's
// `Content-Range: bytes <first>-<last>/<total>` (at least `offset`), else a
// 200's Content-Length (a 200 carries the whole blob even when a Range was
// asked). nullopt when the answer does not say (an
// unknown total "*", chunked encoding) or says something malformed.
std::optional<uint64_t> AnnouncedBlobSize(int status, std::string_view content_range,
                                          std::string_view content_length, uint64_t offset);

// A token endpoint's answer (Docker token protocol): `token` or
// `access_token`, and `expires_in` seconds (60 when absent or not positive).
struct TokenReply {
  std::string token;
  int64_t expires_in = 60;
};
// InvalidArgument when the body is not JSON or holds neither token field.
Result<TokenReply> ParseTokenReply(std::string_view body);

// The first error of an OCI error body {"errors":[{"code","message","detail"}]}
// and a one-line summary of all of them ("CODE: message; CODE2: message2").
struct RemoteError {
  std::string code;
  std::string summary;
};
// nullopt when the body is not an OCI error document.
std::optional<RemoteError> ParseErrorBody(std::string_view body);

// Retry-After: delta-seconds or an HTTP-date (IMF-fixdate), as seconds from
// `now` (0 when the date has passed). nullopt when malformed.
std::optional<uint32_t> ParseRetryAfter(std::string_view value, std::time_t now);

}  // namespace pier::client
