#include "cache/layout.h"

#include <openssl/rand.h>

#include <array>
#include <random>

namespace pier {
namespace {

constexpr size_t kUuidLen = 36;

bool IsDashPosition(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

std::array<unsigned char, 16> RandomBytes() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // OpenSSL's CSPRNG failing is near impossible; fall back to the OS
    // source through the standard library rather than failing the upload.
    std::random_device rd;
    for (auto& byte : b) byte = static_cast<unsigned char>(rd());
  }
  return b;
}

}  // namespace

bool IsValidUploadId(std::string_view id) {
  if (id.size() != kUuidLen) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    if (IsDashPosition(i)) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string NewUploadId() {
  static constexpr char kHex[] = "0123456789abcdef";
  auto b = RandomBytes();
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string out;
  out.reserve(kUuidLen);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

}  // namespace pier
