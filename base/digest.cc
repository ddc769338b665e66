#include "base/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace pier {
namespace {

constexpr size_t kSha256HexLen = 64;
constexpr size_t kSha512HexLen = 128;

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlgorithmSeparator(char c) { return c == '+' || c == '.' || c == '_' || c == '-'; }
bool IsEncodedChar(char c) {
  return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

bool IsLowerHexString(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

// algorithm ::= component (separator component)*, component ::= [a-z0-9]+
bool IsWellFormedAlgorithm(std::string_view alg) {
  bool need_component = true;
  for (char c : alg) {
    if (IsLowerAlnum(c)) {
      need_component = false;
    } else if (IsAlgorithmSeparator(c) && !need_component) {
      need_component = true;
    } else {
      return false;
    }
  }
  return !need_component;
}

// encoded ::= [a-zA-Z0-9=_-]+
bool IsWellFormedEncoded(std::string_view enc) {
  if (enc.empty()) return false;
  for (char c : enc) {
    if (!IsEncodedChar(c)) return false;
  }
  return true;
}

std::string HexEncode(const unsigned char* data, size_t len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '\0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

}  // namespace

Result<Digest> Digest::Parse(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::InvalidArgument("digest has no algorithm: " + std::string(text.substr(0, 80)));
  }
  std::string_view alg = text.substr(0, colon);
  std::string_view enc = text.substr(colon + 1);
  if (alg == "sha256") {
    if (!IsLowerHexString(enc, kSha256HexLen)) {
      return Status::InvalidArgument("sha256 digest must be 64 lowercase hex characters");
    }
    return Digest{std::string(alg), std::string(enc)};
  }
  if (alg == "sha512") {
    // Registered algorithm with a fixed encoding: valid only in its exact form.
    if (!IsLowerHexString(enc, kSha512HexLen)) {
      return Status::InvalidArgument("sha512 digest must be 128 lowercase hex characters");
    }
    return Status::Unsupported("digest algorithm sha512 is not supported");
  }
  if (!IsWellFormedAlgorithm(alg) || !IsWellFormedEncoded(enc)) {
    return Status::InvalidArgument("malformed digest: " + std::string(text.substr(0, 80)));
  }
  return Status::Unsupported("digest algorithm " + std::string(alg) + " is not supported");
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  Impl() : ctx(EVP_MD_CTX_new()) {
    // Allocation or init failure here means OpenSSL itself is broken; there
    // is no way to report it through a constructor without exceptions.
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) std::abort();
  }
  ~Impl() { EVP_MD_CTX_free(ctx); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::span<const char> data) {
  if (!data.empty()) EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

Digest Sha256::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  return Digest{"sha256", HexEncode(md, len)};
}

Digest Sha256Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace pier
