#include "adapter/client/parse.h"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>


#include "base/text.h"

namespace pier::client {
namespace {

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// A cursor over a header value with the few lexical rules we need.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void skip_space() {
    while (!done() && IsSpaceOrTab(s_[i_])) ++i_;
  }
  void skip_space_and_commas() {
    while (!done() && (IsSpaceOrTab(s_[i_]) || s_[i_] == ',')) ++i_;
  }
  std::string_view token() {
    size_t start = i_;
    while (!done() && IsTokenChar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  // A quoted-string starting at the current '"'; unescapes \x.
  std::string quoted() {
    std::string out;
    ++i_;  // opening quote
    while (!done() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out.push_back(s_[i_++]);
    }
    if (!done()) ++i_;  // closing quote
    return out;
  }
  // Skips to just after the next top-level comma (or the end).
  void skip_item() {
    while (!done() && s_[i_] != ',') {
      if (s_[i_] == '"') {
        quoted();
      } else {
        ++i_;
      }
    }
  }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }
  void advance() { ++i_; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::string Challenge::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (EqualsNoCase(k, name)) return v;
  }
  return "";
}

std::vector<Challenge> ParseChallenges(std::string_view header) {
  std::vector<Challenge> out;
  Lexer lx(header);
  while (true) {
    lx.skip_space_and_commas();
    if (lx.done()) break;
    std::string_view scheme = lx.token();
    if (scheme.empty()) {  // junk: skip this list item
      lx.advance();
      lx.skip_item();
      continue;
    }
    Challenge ch;
    ch.scheme = AsciiLower(scheme);
    // auth-params (or a token68) until the next token not followed by '='.
    while (true) {
      lx.skip_space_and_commas();
      if (lx.done()) break;
      size_t mark = lx.pos();
      std::string_view name = lx.token();
      if (name.empty()) {  // junk inside the params: drop up to the next comma
        lx.advance();
        lx.skip_item();
        continue;
      }
      lx.skip_space();
      if (lx.peek() != '=') {  // a bare token: the next challenge's scheme
        lx.set_pos(mark);
        break;
      }
      lx.advance();
      if (lx.peek() == '=' || lx.done() || lx.peek() == ',') {
        // token68 ("abc==") or an empty value: not something we use.
        while (lx.peek() == '=') lx.advance();
        continue;
      }
      lx.skip_space();
      std::string value = lx.peek() == '"' ? lx.quoted() : std::string(lx.token());
      ch.params.emplace_back(AsciiLower(name), std::move(value));
    }
    out.push_back(std::move(ch));
  }
  return out;
}

std::optional<std::string> ParseNextLink(std::string_view header) {
  size_t i = 0;
  while (i < header.size()) {
    size_t open = header.find('<', i);
    if (open == std::string_view::npos) break;
    size_t close = header.find('>', open);
    if (close == std::string_view::npos) break;
    std::string_view target = header.substr(open + 1, close - open - 1);
    // Parameters run until the next '<' that starts a new link.
    size_t next = header.find('<', close);
    std::string_view params =
        header.substr(close + 1, next == std::string_view::npos ? std::string_view::npos : next - close - 1);
    size_t p = 0;
    while (p < params.size()) {
      size_t semi = params.find(';', p);
      std::string_view param =
          TrimSpaces(params.substr(p, semi == std::string_view::npos ? std::string_view::npos : semi - p));
      while (!param.empty() && param.back() == ',') param = TrimSpaces(param.substr(0, param.size() - 1));
      size_t eq = param.find('=');
      if (eq != std::string_view::npos && EqualsNoCase(TrimSpaces(param.substr(0, eq)), "rel")) {
        std::string_view v = TrimSpaces(param.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        // rel may list several relation types separated by spaces.
        size_t s = 0;
        while (s <= v.size()) {
          size_t sp = v.find(' ', s);
          std::string_view rel = v.substr(s, sp == std::string_view::npos ? std::string_view::npos : sp - s);
          if (EqualsNoCase(rel, "next")) return std::string(target);
          if (sp == std::string_view::npos) break;
          s = sp + 1;
        }
      }
      if (semi == std::string_view::npos) break;
      p = semi + 1;
    }
    if (next == std::string_view::npos) break;
    i = next;
  }
  return std::nullopt;
}

Result<uint64_t> ParseUploadRange(std::string_view value) {
  std::string_view v = TrimSpaces(value);
  if (v.substr(0, 6) == "bytes=") v.remove_prefix(6);
  size_t dash = v.find('-');
  if (dash == std::string_view::npos)
    return Status::InvalidArgument("upload Range without '-': " + std::string(value));
  uint64_t first = 0;
  if (!ParseU64(v.substr(0, dash), &first) || first != 0) {
    return Status::InvalidArgument("upload Range must start at 0: " + std::string(value));
  }
  std::string_view last_text = v.substr(dash + 1);
  if (last_text == "-1") return uint64_t{0};
  uint64_t last = 0;
  if (!ParseU64(last_text, &last) || last == std::numeric_limits<uint64_t>::max()) {
    return Status::InvalidArgument("malformed upload Range: " + std::string(value));
  }
  return last == 0 ? uint64_t{0} : last + 1;
}

std::optional<uint64_t> AnnouncedBlobSize(int status, std::string_view content_range,
                                          std::string_view content_length, uint64_t offset) {
  uint64_t n = 0;
  if (status == 200) {
    return ParseU64(TrimSpaces(content_length), &n) ? std::optional<uint64_t>(n) : std::nullopt;
  }
  if (status != 206) return std::nullopt;
  std::string_view v = TrimSpaces(content_range);
  if (v.substr(0, 6) != "bytes ") return std::nullopt;
  size_t slash = v.rfind('/');
  if (slash == std::string_view::npos || !ParseU64(v.substr(slash + 1), &n) || n < offset) return std::nullopt;
  return n;
}

Result<TokenReply> ParseTokenReply(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    return Status::InvalidArgument("token endpoint answered something that is not a JSON object");
  TokenReply r;
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      r.token = it->get<std::string>();
      break;
    }
  }
  if (r.token.empty())
    return Status::InvalidArgument("token endpoint answer holds neither token nor access_token");
  auto exp = j.find("expires_in");
  if (exp != j.end() && exp->is_number() && exp->get<double>() >= 1) {
    r.expires_in = static_cast<int64_t>(exp->get<double>());
  }
  return r;
}

std::optional<RemoteError> ParseErrorBody(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto errors = j.find("errors");
  if (errors == j.end() || !errors->is_array() || errors->empty()) return std::nullopt;
  RemoteError out;
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    std::string message =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    if (out.code.empty()) out.code = code;
    if (!out.summary.empty()) out.summary += "; ";
    out.summary += code.empty() ? message : (message.empty() ? code : code + ": " + message);
    if (out.summary.size() > 512) {
      out.summary.resize(512);
      break;
    }
  }
  if (out.code.empty() && out.summary.empty()) return std::nullopt;
  return out;
}

std::optional<uint32_t> ParseRetryAfter(std::string_view value, std::time_t now) {
  std::string_view v = TrimSpaces(value);
  uint64_t secs = 0;
  if (ParseU64(v, &secs)) {
    return static_cast<uint32_t>(std::min<uint64_t>(secs, std::numeric_limits<uint32_t>::max()));
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::string text(v);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  std::time_t at = ::timegm(&tm);
  if (at <= now) return 0u;
  return static_cast<uint32_t>(std::min<std::time_t>(at - now, std::numeric_limits<uint32_t>::max()));
}

}  // namespace pier::client
