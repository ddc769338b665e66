#include "base/digest.h"

// The running state must be saved and restored (an upload continuing on
// another replica, Sha256::SaveState), which EVP contexts do not allow. The
// low-level SHA256_CTX does and runs the same assembly; OpenSSL 3 marks it
// deprecated, not removed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

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
  SHA256_CTX ctx;
  Impl() { SHA256_Init(&ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::Update(std::span<const char> data) {
  if (!data.empty()) SHA256_Update(&impl_->ctx, data.data(), data.size());
}

Digest Sha256::Finish() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &impl_->ctx);
  return Digest{"sha256", HexEncode(md, sizeof md)};
}

namespace {
constexpr std::string_view kStateTag = "sha256v1";

bool ParseHexBytes(std::string_view hex, unsigned char* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + 2 * i + 2 || !IsLowerHex(hex[2 * i]) || !IsLowerHex(hex[2 * i + 1]))
      return false;
    out[i] = static_cast<unsigned char>(v);
  }
  return true;
}
}  // namespace

uint64_t Sha256::bytes() const {
  return ((static_cast<uint64_t>(impl_->ctx.Nh) << 32) | impl_->ctx.Nl) / 8;
}

std::string Sha256::SaveState() const {
  const SHA256_CTX& c = impl_->ctx;
  unsigned char words[32];
  for (int i = 0; i < 8; ++i) {
    for (int b = 0; b < 4; ++b) words[4 * i + b] = static_cast<unsigned char>(c.h[i] >> (24 - 8 * b));
  }
  std::string out(kStateTag);
  out += ':' + std::to_string(bytes()) + ':' + HexEncode(words, sizeof words) + ':';
  out += HexEncode(reinterpret_cast<const unsigned char*>(c.data), c.num);
  return out;
}

Result<Sha256> Sha256::RestoreState(std::string_view state) {
  auto bad = [] { return Status::Corruption("saved sha256 state is malformed"); };
  if (state.substr(0, kStateTag.size()) != kStateTag || state.size() <= kStateTag.size() ||
      state[kStateTag.size()] != ':')
    return bad();
  std::string_view rest = state.substr(kStateTag.size() + 1);
  size_t c1 = rest.find(':');
  if (c1 == std::string_view::npos) return bad();
  uint64_t total = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + c1, total);
  if (ec != std::errc() || p != rest.data() + c1 || c1 == 0 || total > (UINT64_MAX >> 3)) return bad();
  rest = rest.substr(c1 + 1);
  if (rest.size() < 65 || rest[64] != ':') return bad();
  unsigned char words[32];
  if (!ParseHexBytes(rest.substr(0, 64), words, sizeof words)) return bad();
  std::string_view partial = rest.substr(65);
  const size_t num = partial.size() / 2;
  if (num != total % SHA256_CBLOCK) return bad();
  Sha256 h;
  SHA256_CTX& c = h.impl_->ctx;
  for (int i = 0; i < 8; ++i) {
    c.h[i] = (static_cast<SHA_LONG>(words[4 * i]) << 24) | (static_cast<SHA_LONG>(words[4 * i + 1]) << 16) |
             (static_cast<SHA_LONG>(words[4 * i + 2]) << 8) | static_cast<SHA_LONG>(words[4 * i + 3]);
  }
  const uint64_t bits = total * 8;
  c.Nl = static_cast<SHA_LONG>(bits & 0xffffffffu);
  c.Nh = static_cast<SHA_LONG>(bits >> 32);
  std::memset(c.data, 0, sizeof c.data);
  if (!ParseHexBytes(partial, reinterpret_cast<unsigned char*>(c.data), num)) return bad();
  c.num = static_cast<unsigned int>(num);
  return h;
}

Digest Sha256Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace pier
