// ES256 JWT signing and verification with OpenSSL 3's EVP interface.
#include "adapter/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "adapter/auth/basic.h"

namespace pier::auth {
namespace {

constexpr size_t kCoordinateBytes = 32;  // P-256: r and s are 32 bytes each

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Sig = std::unique_ptr<ECDSA_SIG, SigFree>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool IsP256(EVP_PKEY* key) {
  return key != nullptr && EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 256;
}

// OpenSSL produces and expects DER SEQUENCE{r, s}; JWS wants fixed-size r || s.
std::string DerToRaw(std::string_view der) {
  const unsigned char* p = Bytes(der);
  Sig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kCoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kCoordinateBytes) < 0 ||
      BN_bn2binpad(s, out + kCoordinateBytes, kCoordinateBytes) < 0) {
    return {};
  }
  return raw;
}

std::string RawToDer(std::string_view raw) {
  Sig sig(ECDSA_SIG_new());
  if (!sig) return {};
  BIGNUM* r = BN_bin2bn(Bytes(raw), kCoordinateBytes, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(raw) + kCoordinateBytes, kCoordinateBytes, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  size_t left = in.size() - i;
  if (left > 0) {
    uint32_t v = byte(i) << 16;
    if (left == 2) v |= byte(i + 1) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (left == 2) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

bool Base64UrlDecode(std::string_view in, std::string* out) {
  std::string standard(in);
  for (char& c : standard) {
    if (c == '+' || c == '/') return false;  // not in the url-safe alphabet
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (!DecodeBase64(standard, out)) return false;
  // Only the canonical encoding: the bits the last character carries beyond
  // the data must be zero, so one token has exactly one spelling.
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.empty()) return true;
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t last = kAlphabet.find(in.back());
  size_t rem = in.size() % 4;
  if ((rem == 2 && (last & 0xF) != 0) || (rem == 3 && (last & 0x3) != 0)) return false;
  return true;
}

Result<std::string> SignEs256(std::string_view header_json, std::string_view payload_json, EVP_PKEY* key) {
  if (!IsP256(key)) return Status::InvalidArgument("ES256 needs an EC P-256 key");
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  MdCtx ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, Bytes(input), input.size()) != 1) {
    ERR_clear_error();
    return Status::Internal("cannot sign token");
  }
  std::string der(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, Bytes(input),
                     input.size()) != 1) {
    return Status::Internal("cannot sign token");
  }
  der.resize(len);
  std::string raw = DerToRaw(der);
  if (raw.empty()) return Status::Internal("cannot encode token signature");
  return input + "." + Base64UrlEncode(raw);
}

Result<VerifiedJwt> VerifyEs256(std::string_view token, EVP_PKEY* key) {
  if (!IsP256(key)) return Status::InvalidArgument("ES256 needs an EC P-256 key");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Status::InvalidArgument("malformed token");
  }
  VerifiedJwt jwt;
  std::string raw_sig;
  if (!Base64UrlDecode(token.substr(0, dot1), &jwt.header_json) ||
      !Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &jwt.payload_json) ||
      !Base64UrlDecode(token.substr(dot2 + 1), &raw_sig)) {
    return Status::InvalidArgument("malformed token encoding");
  }
  // The algorithm is fixed by Pier, never chosen by the token.
  nlohmann::json header = nlohmann::json::parse(jwt.header_json, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return Status::InvalidArgument("malformed token header");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != "ES256") {
    return Status::InvalidArgument("token algorithm must be ES256");
  }
  if (raw_sig.size() != 2 * kCoordinateBytes) return Status::InvalidArgument("bad token signature");
  std::string der = RawToDer(raw_sig);
  if (der.empty()) return Status::InvalidArgument("bad token signature");
  std::string_view input = token.substr(0, dot2);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    ERR_clear_error();
    return Status::Internal("cannot verify token");
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(der), der.size(), Bytes(input), input.size()) != 1) {
    // A failed check leaves errors queued on this thread; TLS code on the
    // same I/O thread reads that queue, so leave it empty.
    ERR_clear_error();
    return Status::InvalidArgument("bad token signature");
  }
  return jwt;
}

}  // namespace pier::auth
