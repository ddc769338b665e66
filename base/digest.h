#pragma once
// Content digests. Pier stores and verifies sha256 only; other registered
// algorithms (sha512) parse as syntactically valid but are Unsupported.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace pier {

struct Digest {
  std::string algorithm;  // "sha256"
  std::string hex;        // 64 lowercase hex chars

  // "sha256:<hex>"
  std::string str() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;

  // Parses "algorithm:encoded". InvalidArgument when malformed (bad
  // charset, wrong length), Unsupported for a well-formed non-sha256 digest.
  static Result<Digest> Parse(std::string_view text);
};

// Incremental SHA-256 (OpenSSL). Not copyable; cheap to move. Its running
// state can be saved as text and restored anywhere (SaveState), so an upload
// session continues on another replica without reading its bytes again.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const char> data);
  void Update(std::string_view data) { Update(std::span<const char>(data.data(), data.size())); }
  // Disambiguates std::string, which converts to both of the above.
  void Update(const std::string& data) { Update(std::string_view(data)); }
  // Returns the sha256 digest of everything passed to Update. The hasher
  // must not be used afterwards.
  Digest Finish();
  // Bytes hashed so far.
  uint64_t bytes() const;
  // The running state as printable text ("sha256v1:<bytes>:<hex>:<hex>",
  // under 250 chars); RestoreState continues exactly where this left off.
  std::string SaveState() const;
  // Corruption when `state` is not what SaveState made.
  static Result<Sha256> RestoreState(std::string_view state);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// sha256 of a buffer in one call.
Digest Sha256Of(std::string_view data);

}  // namespace pier
