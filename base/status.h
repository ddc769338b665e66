#pragma once
// Status and Result<T>: how errors cross module boundaries in Pier.
// No exceptions leave a module; a function that can fail returns a Status
// (or a Result<T> holding either a value or a non-OK Status). Both are
// [[nodiscard]]: every caller decides (return it with PIER_TRY, retry, fail
// the task with the reason, or ReportInternalError) and -Werror keeps it so.
#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace pier {

enum class Code {
  kOk = 0,
  kNotFound,         // the thing asked for does not exist
  kInvalidArgument,  // caller input is malformed (name, digest, range, JSON...)
  kDigestMismatch,   // content does not hash to the digest it claims
  kSizeInvalid,      // declared size disagrees with content
  kOutOfRange,       // offset/range does not fit (e.g. a chunk that leaves a gap)
  kAlreadyExists,
  kFailedPrecondition,  // state forbids the operation (e.g. upload busy)
  kUnsupported,      // valid but not supported (e.g. sha512, schema1)
  kCorruption,       // stored data is damaged
  kIOError,          // the OS said no
  kInternal,
  kUnavailable,      // a dependency (an upstream registry) cannot be reached now
  kResourceExhausted,  // no room: the disk is full or below its reserve (ENOSPC, EDQUOT)
  kQuotaExceeded,    // the write would take a project past its storage quota
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status DigestMismatch(std::string m) { return {Code::kDigestMismatch, std::move(m)}; }
  static Status SizeInvalid(std::string m) { return {Code::kSizeInvalid, std::move(m)}; }
  static Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status QuotaExceeded(std::string m) { return {Code::kQuotaExceeded, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. Access value() only when ok().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

namespace internal {
inline const Status& StatusOf(const Status& s) { return s; }
template <class T>
const Status& StatusOf(const Result<T>& r) { return r.status(); }
}  // namespace internal

}  // namespace pier

// Returns the error of `expr` (a Status or Result<T>) from the enclosing
// function, which must return Status or Result<U>; goes on when it is OK.
#define PIER_TRY(expr)                                                        \
  do {                                                                        \
    if (const auto& pier_try_value_ = (expr); !pier_try_value_.ok())          \
      return ::pier::internal::StatusOf(pier_try_value_);                     \
  } while (false)
