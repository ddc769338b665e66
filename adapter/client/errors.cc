#include "adapter/client/errors.h"

#include <ctime>
#include <string>

#include "adapter/client/parse.h"

namespace pier::client {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kCancelled:
      return "cancelled";
    case ErrorKind::kNetwork:
      return "network";
    case ErrorKind::kTls:
      return "tls";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kAuth:
      return "auth";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kThrottled:
      return "throttled";
    case ErrorKind::kRemote4xx:
      return "remote_4xx";
    case ErrorKind::kRemote5xx:
      return "remote_5xx";
    case ErrorKind::kDigestMismatch:
      return "digest_mismatch";
    case ErrorKind::kProtocol:
      return "protocol";
    case ErrorKind::kLocal:
      return "local";
  }
  return "unknown";
}

bool ClientError::Transient() const {
  switch (kind) {
    case ErrorKind::kNetwork:
    case ErrorKind::kTimeout:
    case ErrorKind::kThrottled:
    case ErrorKind::kRemote5xx:
      return true;
    default:
      return false;
  }
}

namespace {

// A printable, single-line excerpt of a non-JSON error body.
std::string Excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f ? ' ' : c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

Status HttpFailure(const Clock& clock, Call& call, std::string_view operation, const HttpResponse& response) {
  ClientError& e = call.error;
  e = ClientError();
  e.http_status = response.status;
  int s = response.status;
  if (s == 401 || s == 403) {
    e.kind = ErrorKind::kAuth;
  } else if (s == 404) {
    e.kind = ErrorKind::kNotFound;
  } else if (s == 429) {
    e.kind = ErrorKind::kThrottled;
  } else if (s >= 400 && s < 500) {
    e.kind = ErrorKind::kRemote4xx;
  } else if (s >= 500 && s < 600) {
    e.kind = ErrorKind::kRemote5xx;
  } else {
    e.kind = ErrorKind::kProtocol;
  }
  std::string message = std::string(operation) + ": HTTP " + std::to_string(s);
  if (auto remote = ParseErrorBody(response.body)) {
    e.registry_code = remote->code;
    if (remote->code == "DIGEST_INVALID") e.kind = ErrorKind::kDigestMismatch;
    if (remote->code == "TOOMANYREQUESTS") e.kind = ErrorKind::kThrottled;
    message += " " + remote->summary;
  } else if (!response.body.empty() && !response.to_sink) {
    std::string excerpt = Excerpt(response.body);
    if (!excerpt.empty()) message += " " + excerpt;
  } else if (e.kind == ErrorKind::kProtocol) {
    message += " (unexpected)";
  }
  std::string retry = response.Header("retry-after");
  if (!retry.empty()) e.retry_after_seconds = ParseRetryAfter(retry, static_cast<std::time_t>(clock.UnixSeconds()));
  if (e.retry_after_seconds) message += " (retry after " + std::to_string(*e.retry_after_seconds) + " s)";
  switch (e.kind) {
    case ErrorKind::kNotFound:
      return Status::NotFound(std::move(message));
    case ErrorKind::kDigestMismatch:
      return Status::DigestMismatch(std::move(message));
    default:
      break;
  }
  if (s == 416) return Status::OutOfRange(std::move(message));
  return Status::IOError(std::move(message));
}

Status ClientFailure(Call& call, ErrorKind kind, std::string_view operation, std::string_view what) {
  call.error.kind = kind;
  std::string message = std::string(operation) + ": " + std::string(what);
  switch (kind) {
    case ErrorKind::kDigestMismatch:
      return Status::DigestMismatch(std::move(message));
    case ErrorKind::kLocal:
      return Status::InvalidArgument(std::move(message));
    case ErrorKind::kNotFound:
      return Status::NotFound(std::move(message));
    default:
      return Status::IOError(std::move(message));
  }
}

}  // namespace pier::client
