#include "cache/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "base/digest.h"

namespace pier::s3 {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Leading/trailing spaces dropped, inner runs of spaces folded to one.
std::string Trim(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string HeaderValue(const SignRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (Lower(k) == name) return v;
  }
  return "";
}

// name;name;... of the signed headers, sorted.
std::vector<std::pair<std::string, std::string>> SortedHeaders(const SignRequest& r) {
  std::vector<std::pair<std::string, std::string>> h;
  for (const auto& [k, v] : r.headers) h.emplace_back(Lower(k), Trim(v));
  std::sort(h.begin(), h.end());
  return h;
}

std::string SignedHeaderNames(const std::vector<std::pair<std::string, std::string>>& h) {
  std::string out;
  for (const auto& [k, v] : h) out += (out.empty() ? "" : ";") + k;
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

std::string CanonicalRequest(const SignRequest& r) {
  std::vector<std::pair<std::string, std::string>> q;
  for (const auto& [k, v] : r.query) q.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(q.begin(), q.end());
  std::string query;
  for (const auto& [k, v] : q) query += (query.empty() ? "" : "&") + k + "=" + v;
  const auto headers = SortedHeaders(r);
  std::string canon_headers;
  for (const auto& [k, v] : headers) canon_headers += k + ":" + v + "\n";
  return r.method + "\n" + UriEncode(r.path.empty() ? "/" : r.path, true) + "\n" + query + "\n" + canon_headers +
         "\n" + SignedHeaderNames(headers) + "\n" + r.payload_sha256;
}

std::string StringToSign(std::string_view amz_date, std::string_view region, std::string_view canonical) {
  const std::string date(amz_date.substr(0, 8));
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + date + "/" + std::string(region) +
         "/s3/aws4_request\n" + Sha256Of(canonical).hex;
}

std::string Signature(const Credentials& c, std::string_view date, std::string_view region,
                      std::string_view string_to_sign) {
  std::string k = Hmac("AWS4" + c.secret_key, date);
  k = Hmac(k, region);
  k = Hmac(k, "s3");
  k = Hmac(k, "aws4_request");
  return Hex(Hmac(k, string_to_sign));
}

std::string Authorize(const Credentials& c, std::string_view region, SignRequest& r) {
  if (HeaderValue(r, "x-amz-content-sha256").empty()) r.headers.emplace_back("x-amz-content-sha256", r.payload_sha256);
  const std::string amz_date = HeaderValue(r, "x-amz-date");
  const std::string canonical = CanonicalRequest(r);
  const std::string sts = StringToSign(amz_date, region, canonical);
  const std::string date = amz_date.substr(0, 8);
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + date + "/" + std::string(region) +
         "/s3/aws4_request,SignedHeaders=" + SignedHeaderNames(SortedHeaders(r)) +
         ",Signature=" + Signature(c, date, region, sts);
}

}  // namespace pier::s3
