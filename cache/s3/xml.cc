#include "cache/s3/xml.h"

#include <cctype>
#include <cstdint>

namespace pier::s3::xml {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsNameStart(unsigned char c) { return std::isalpha(c) || c == '_' || c == ':' || c >= 0x80; }
bool IsNameChar(unsigned char c) { return IsNameStart(c) || std::isdigit(c) || c == '-' || c == '.'; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one reference (`ref` is what lies between '&' and ';').
bool DecodeOne(std::string_view ref, std::string& out) {
  if (ref == "amp") return out += '&', true;
  if (ref == "lt") return out += '<', true;
  if (ref == "gt") return out += '>', true;
  if (ref == "quot") return out += '"', true;
  if (ref == "apos") return out += '\'', true;
  if (ref.size() < 2 || ref[0] != '#') return false;
  std::string_view digits = ref.substr(1);
  int base = 10;
  if (digits[0] == 'x') {
    base = 16;
    digits = digits.substr(1);
  }
  if (digits.empty() || digits.size() > 8) return false;
  uint32_t cp = 0;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    cp = cp * static_cast<uint32_t>(base) + static_cast<uint32_t>(d);
  }
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  AppendUtf8(out, cp);
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view doc) : s_(doc) {}

  Result<Element> Document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark
    // CompleteMultipartUpload may send whitespace first to keep the
    // connection alive while it works.
    SkipSpace();
    if (s_.substr(pos_, 5) == "<?xml") {
      size_t end = s_.find("?>", pos_);
      if (end == std::string_view::npos) return Bad("unterminated XML declaration");
      pos_ = end + 2;
    }
    PIER_TRY(Misc());
    Element root;
    PIER_TRY(ParseElement(root, 1));
    PIER_TRY(Misc());
    if (pos_ != s_.size()) return Bad("content after the root element");
    return root;
  }

 private:
  Status Bad(std::string why) const {
    return Status::InvalidArgument("malformed XML at byte " + std::to_string(pos_) + ": " + why);
  }

  bool Starts(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }

  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }

  Status Comment() {
    size_t end = s_.find("-->", pos_ + 4);
    if (end == std::string_view::npos) return Bad("unterminated comment");
    pos_ = end + 3;
    return Status::OK();
  }

  // Whitespace and comments outside the root element.
  Status Misc() {
    while (true) {
      SkipSpace();
      if (!Starts("<!--")) return Status::OK();
      PIER_TRY(Comment());
    }
  }

  Result<std::string_view> Name() {
    size_t start = pos_;
    if (pos_ >= s_.size() || !IsNameStart(static_cast<unsigned char>(s_[pos_]))) {
      return Bad("expected a name");
    }
    while (pos_ < s_.size() && IsNameChar(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  Status Attributes() {
    while (true) {
      size_t before = pos_;
      SkipSpace();
      if (pos_ >= s_.size()) return Bad("unterminated start tag");
      if (s_[pos_] == '>' || s_[pos_] == '/') return Status::OK();
      if (pos_ == before) return Bad("expected a space before an attribute");
      PIER_TRY(Name());
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '=') return Bad("expected '=' in an attribute");
      ++pos_;
      SkipSpace();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) return Bad("expected a quoted value");
      char q = s_[pos_++];
      size_t end = s_.find(q, pos_);
      if (end == std::string_view::npos) return Bad("unterminated attribute value");
      std::string_view value = s_.substr(pos_, end - pos_);
      if (value.find('<') != std::string_view::npos) return Bad("'<' in an attribute value");
      auto decoded = DecodeEntities(value);
      if (!decoded.ok()) return Bad("bad reference in an attribute value");
      pos_ = end + 1;
    }
  }

  Status ParseElement(Element& e, size_t depth) {
    if (depth > kMaxDepth) return Bad("elements nested too deep");
    if (++elements_ > kMaxElements) return Bad("too many elements");
    if (!Starts("<")) return Bad("expected an element");
    ++pos_;
    auto name = Name();
    if (!name.ok()) return name.status();
    e.name = std::string(*name);
    PIER_TRY(Attributes());
    if (Starts("/>")) {
      pos_ += 2;
      return Status::OK();
    }
    ++pos_;  // '>'
    while (true) {
      size_t lt = s_.find('<', pos_);
      if (lt == std::string_view::npos) return Bad("unterminated element <" + e.name + ">");
      auto text = DecodeEntities(s_.substr(pos_, lt - pos_));
      if (!text.ok()) return Bad("bad reference in the text of <" + e.name + ">");
      e.text += *text;
      pos_ = lt;
      if (Starts("</")) {
        pos_ += 2;
        auto end = Name();
        if (!end.ok()) return end.status();
        if (*end != e.name) return Bad("</" + std::string(*end) + "> closes <" + e.name + ">");
        SkipSpace();
        if (!Starts(">")) return Bad("unterminated end tag");
        ++pos_;
        return Status::OK();
      }
      if (Starts("<!--")) {
        PIER_TRY(Comment());
      } else if (Starts("<![CDATA[")) {
        size_t end = s_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return Bad("unterminated CDATA section");
        e.text.append(s_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
      } else if (Starts("<!") || Starts("<?")) {
        return Bad("declarations and processing instructions are not supported");
      } else {
        e.children.emplace_back();
        PIER_TRY(ParseElement(e.children.back(), depth + 1));
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  size_t elements_ = 0;
};

}  // namespace

const Element* Element::Child(std::string_view n) const {
  for (const Element& c : children) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

std::vector<const Element*> Element::Children(std::string_view n) const {
  std::vector<const Element*> out;
  for (const Element& c : children) {
    if (c.name == n) out.push_back(&c);
  }
  return out;
}

std::string Element::ChildText(std::string_view n) const {
  const Element* c = Child(n);
  return c == nullptr ? std::string() : c->text;
}

Result<Element> Parse(std::string_view doc) { return Parser(doc).Document(); }

Result<std::string> DecodeEntities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, amp - i));
    size_t semi = text.find(';', amp + 1);
    // The longest reference is "&#x10FFFF;" (10 bytes) or "&#01114111;".
    if (semi == std::string_view::npos || semi - amp > 11 || !DecodeOne(text.substr(amp + 1, semi - amp - 1), out)) {
      return Status::InvalidArgument("bad XML reference near byte " + std::to_string(amp));
    }
    i = semi + 1;
  }
  return out;
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace pier::s3::xml
