// htpasswd files: parsing, scheme checks and crypt_r verification.
#include <crypt.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <unordered_set>

#include "adapter/auth/auth.h"

#include "base/text.h"

namespace pier::auth {
namespace {

// The alphabet crypt(3) uses for salts and hashes.
bool IsCryptChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

bool AllCryptChars(std::string_view s) {
  for (char c : s) {
    if (!IsCryptChar(c)) return false;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "$2y$10$" + 22 salt chars + 31 hash chars.
bool WellFormedBcrypt(std::string_view h) {
  if (h.size() != 60 || h[6] != '$') return false;
  std::string_view cost = h.substr(4, 2);
  if (!AllDigits(cost)) return false;
  int c = (cost[0] - '0') * 10 + (cost[1] - '0');
  return c >= 4 && c <= 31 && AllCryptChars(h.substr(7));
}

// "$5$" / "$6$", optional "rounds=N$", salt (≤ 16 chars), '$', hash.
bool WellFormedShaCrypt(std::string_view h) {
  size_t hash_len = h[1] == '5' ? 43 : 86;
  std::string_view rest = h.substr(3);
  if (rest.substr(0, 7) == "rounds=") {
    size_t end = rest.find('$');
    if (end == std::string_view::npos || !AllDigits(rest.substr(7, end - 7))) return false;
    rest.remove_prefix(end + 1);
  }
  size_t end = rest.find('$');
  if (end == std::string_view::npos || end > 16) return false;
  std::string_view salt = rest.substr(0, end);
  std::string_view hash = rest.substr(end + 1);
  for (char c : salt) {
    if (c == '$' || c == ':' || c == '\n' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return hash.size() == hash_len && AllCryptChars(hash);
}

// A short human name of a hash's scheme, safe to show (never the hash itself).
std::string SchemeName(std::string_view h) {
  if (h.size() > 1 && h[0] == '$') {
    size_t end = h.find('$', 1);
    if (end != std::string_view::npos && end <= 16) return std::string(h.substr(0, end + 1));
    return "starting with '$'";
  }
  if (h.substr(0, 5) == "{SHA}") return "{SHA}";
  return "(plain text or DES crypt)";
}

Status LineError(size_t line, const std::string& what) {
  return Status::InvalidArgument("line " + std::to_string(line) + ": " + what);
}

// Runs crypt_r(password, hash) and compares with `hash` in constant time.
bool CryptMatches(std::string_view password, const std::string& hash) {
  std::string key(password);
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: heap, zeroed (= initialized)
  const char* out = crypt_r(key.c_str(), hash.c_str(), data.get());
  bool match = false;
  if (out != nullptr && out[0] != '*') {
    size_t len = std::strlen(out);
    match = len == hash.size() && CRYPTO_memcmp(out, hash.data(), len) == 0;
  }
  OPENSSL_cleanse(key.data(), key.size());
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return match;
}

}  // namespace

Result<Htpasswd> Htpasswd::Parse(std::string_view text) {
  Htpasswd result;
  std::unordered_set<std::string> seen;  // users of left-out lines count for duplicates too
  for (size_t line_no = 1; !text.empty(); ++line_no) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = TrimSpaces(line);
    if (line.empty() || line[0] == '#') continue;

    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return LineError(line_no, "expected user:hash");
    std::string user(line.substr(0, colon));
    std::string_view hash = line.substr(colon + 1);
    if (user.empty()) return LineError(line_no, "empty user name");
    if (user == "anonymous" || user == "*") {
      return LineError(line_no, "user name \"" + user + "\" is reserved for ACL rules");
    }
    bool bcrypt = hash.substr(0, 4) == "$2y$" || hash.substr(0, 4) == "$2b$" || hash.substr(0, 4) == "$2a$";
    bool sha = hash.substr(0, 3) == "$5$" || hash.substr(0, 3) == "$6$";
    if (!seen.insert(user).second) return LineError(line_no, "duplicate user " + user);
    if (!bcrypt && !sha) {
      result.warnings_.push_back("line " + std::to_string(line_no) + ": user " + user + " left out: unsupported hash scheme " +
                                 SchemeName(hash) + "; use htpasswd -B");
      continue;
    }
    if (bcrypt ? !WellFormedBcrypt(hash) : !WellFormedShaCrypt(hash)) {
      result.warnings_.push_back("line " + std::to_string(line_no) + ": user " + user + " left out: malformed " +
                                 (bcrypt ? "bcrypt" : "sha-crypt") + " hash");
      continue;
    }
    result.hashes_.emplace(user, std::string(hash));
  }
  return result;
}

Result<Htpasswd> Htpasswd::Load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::IOError("cannot read htpasswd file " + file.string() + ": " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read htpasswd file " + file.string());
  std::string text = buf.str();
  auto parsed = Parse(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!parsed.ok()) {
    return Status(parsed.status().code(), file.string() + ": " + parsed.status().message());
  }
  for (std::string& w : parsed->warnings_) w = file.string() + ": " + w;
  return parsed;
}

bool Htpasswd::Verify(std::string_view user, std::string_view password) const {
  if (hashes_.empty()) return false;
  if (password.find('\0') != std::string_view::npos) return false;  // crypt would truncate it
  auto it = hashes_.find(std::string(user));
  // Unknown users still cost one hash computation (against some real entry)
  // so response time does not reveal which user names exist.
  const std::string& hash = it != hashes_.end() ? it->second : hashes_.begin()->second;
  bool match = CryptMatches(password, hash);
  return match && it != hashes_.end();
}

}  // namespace pier::auth
