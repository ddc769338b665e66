// Glob matching (doublestar 1.x semantics), see glob.h.
//
// The pattern is parsed into a small tree (literals, '?', classes, '*',
// '**', brace alternatives), compiled into an NFA and run over the text one
// code point at a time with a set of live states (Thompson simulation).
// Cost is O(pattern × text) whatever the pattern: no backtracking, so
// patterns like "*a*a*a*a*b" or deep brace nests cannot blow up.
//
// How doublestar 1.x is mirrored:
//  - '*', '?' and classes never match '/'.
//  - "**" is special only as a whole path component: the text must be at a
//    component start (start of text or just after '/') and the pattern must
//    continue with '/' or end. "**/" then matches zero or more whole
//    components ("", "a/", "a/b/"), a trailing "**" matches the rest of the
//    text (including further '/'). Anywhere else "**" acts like '*'.
//  - Braces are expanded in place, so alternatives may contain '/' and
//    nest: "{a/b,c}/d" matches "a/b/d" and "c/d".
//  - Classes: '[abc]', '[a-z]', negation with '^' (doublestar) or '!'
//    (shell); '\' escapes inside and outside classes.
//  - Malformed patterns (unclosed '[' or '{', empty class, dangling '-' in a
//    class, trailing '\') match nothing.
// UTF-8 is decoded so '?' and class ranges work per character; invalid bytes
// are kept as distinct values that only match themselves.
#include "base/glob.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace pier {
namespace {

constexpr uint32_t kSlash = '/';
constexpr int kMaxBraceDepth = 32;

std::vector<uint32_t> DecodeUtf8(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    int len = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    }
    bool valid = len > 0 && i + len <= s.size();
    for (int k = 1; valid && k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (c & 0x3F);
      }
    }
    if (valid) {
      // Overlong forms, surrogates and out-of-range values are invalid too.
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) valid = false;
    }
    if (!valid) {
      out.push_back(0x110000u + b);  // outside Unicode: equal only to the same invalid byte
      i += 1;
    } else {
      out.push_back(cp);
      i += static_cast<size_t>(len);
    }
  }
  return out;
}

struct CharClass {
  bool negated = false;
  std::vector<std::pair<uint32_t, uint32_t>> ranges;

  bool Matches(uint32_t c) const {
    if (c == kSlash) return false;  // never crosses a component
    bool in = false;
    for (const auto& [lo, hi] : ranges) {
      if (lo <= c && c <= hi) {
        in = true;
        break;
      }
    }
    return in != negated;
  }
};

// ---- Parse tree ----

struct Item {
  enum Kind { kLiteral, kAny, kClass, kStar, kDoubleStar, kAlternatives } kind;
  uint32_t cp = 0;  // kLiteral
  int cls = -1;     // kClass: index into Parser::classes
  std::vector<std::vector<Item>> alternatives;
};

class Parser {
 public:
  explicit Parser(std::vector<uint32_t> pattern) : p_(std::move(pattern)) {}

  // False when the pattern is malformed.
  bool Parse(std::vector<Item>* out) {
    if (!ParseSequence(0, out)) return false;
    return pos_ == p_.size();  // a stray top-level ',' or '}' is literal, so this always holds
  }

  std::vector<CharClass> classes;

 private:
  bool ParseSequence(int depth, std::vector<Item>* out) {
    while (pos_ < p_.size()) {
      uint32_t c = p_[pos_];
      if (depth > 0 && (c == ',' || c == '}')) return true;  // caller handles it
      switch (c) {
        case '\\':
          if (pos_ + 1 >= p_.size()) return false;
          out->push_back(Item{Item::kLiteral, p_[pos_ + 1], -1, {}});
          pos_ += 2;
          break;
        case '?':
          out->push_back(Item{Item::kAny, 0, -1, {}});
          ++pos_;
          break;
        case '*': {
          size_t run = 0;
          while (pos_ < p_.size() && p_[pos_] == '*') {
            ++run;
            ++pos_;
          }
          out->push_back(Item{run == 2 ? Item::kDoubleStar : Item::kStar, 0, -1, {}});
          break;
        }
        case '[':
          if (!ParseClass(out)) return false;
          break;
        case '{':
          if (!ParseBraces(depth, out)) return false;
          break;
        default:
          out->push_back(Item{Item::kLiteral, c, -1, {}});
          ++pos_;
          break;
      }
    }
    return true;
  }

  bool ParseBraces(int depth, std::vector<Item>* out) {
    if (depth + 1 > kMaxBraceDepth) return false;
    ++pos_;  // '{'
    Item alt{Item::kAlternatives, 0, -1, {}};
    for (;;) {
      std::vector<Item> seq;
      if (!ParseSequence(depth + 1, &seq)) return false;
      alt.alternatives.push_back(std::move(seq));
      if (pos_ >= p_.size()) return false;  // unclosed '{'
      uint32_t c = p_[pos_++];
      if (c == '}') break;
      // c == ','
    }
    out->push_back(std::move(alt));
    return true;
  }

  // One class member character, with '\' escapes. False when missing.
  bool ClassChar(size_t end, uint32_t* c) {
    if (pos_ >= end) return false;
    if (p_[pos_] == '\\') {
      if (pos_ + 1 >= end) return false;
      *c = p_[pos_ + 1];
      pos_ += 2;
      return true;
    }
    *c = p_[pos_++];
    return true;
  }

  bool ParseClass(std::vector<Item>* out) {
    ++pos_;  // '['
    // The class ends at the first unescaped ']'.
    size_t end = pos_;
    while (end < p_.size() && p_[end] != ']') end += (p_[end] == '\\') ? 2 : 1;
    if (end >= p_.size()) return false;  // unclosed '['
    CharClass cls;
    if (pos_ < end && (p_[pos_] == '^' || p_[pos_] == '!')) {
      cls.negated = true;
      ++pos_;
    }
    if (pos_ >= end) return false;  // empty class
    while (pos_ < end) {
      if (p_[pos_] == '-') return false;  // a range without its low end
      uint32_t lo = 0;
      if (!ClassChar(end, &lo)) return false;
      uint32_t hi = lo;
      if (pos_ < end && p_[pos_] == '-') {
        ++pos_;
        if (pos_ >= end || p_[pos_] == '-') return false;  // "[a-]" or "[a--]"
        if (!ClassChar(end, &hi)) return false;
      }
      cls.ranges.emplace_back(lo, hi);
    }
    pos_ = end + 1;
    classes.push_back(std::move(cls));
    out->push_back(Item{Item::kClass, 0, static_cast<int>(classes.size() - 1), {}});
    return true;
  }

  std::vector<uint32_t> p_;
  size_t pos_ = 0;
};

// ---- NFA ----

struct Node {
  enum Kind : uint8_t {
    kChar,    // consumes `cp`
    kAny,     // consumes one non-'/'
    kClass,   // consumes one non-'/' in class `cls`
    kStar,    // consumes non-'/' looping on itself; epsilon to `next`
    kSplit,   // epsilon to every `outs`
    kGuard,   // epsilon to `next` only at a component start
    kDouble,  // consumes anything looping on itself; exits below
    kAccept,
  };
  explicit Node(Kind k) : kind(k) {}

  Kind kind;
  uint32_t cp = 0;
  int cls = -1;
  int next = -1;
  std::vector<int> outs;   // kSplit targets; kDouble: targets after a '/' (component start only)
  bool to_accept = false;  // kDouble: a trailing "**" swallows the rest of the text
};

class Nfa {
 public:
  explicit Nfa(const std::vector<CharClass>* classes) : classes_(classes) {
    accept_ = Add(Node{Node::kAccept});
  }

  void Build(const std::vector<Item>& items) { start_ = Compile(items, accept_); }

  bool Run(const std::vector<uint32_t>& text) {
    marks_.assign(nodes_.size(), 0);
    std::vector<int> current, next;
    AddClosure(start_, text, 0, &current);
    for (size_t pos = 0; pos < text.size(); ++pos) {
      if (current.empty()) return false;
      ++generation_;
      next.clear();
      uint32_t c = text[pos];
      for (int s : current) {
        const Node& n = nodes_[s];
        switch (n.kind) {
          case Node::kChar:
            if (n.cp == c) AddClosure(n.next, text, pos + 1, &next);
            break;
          case Node::kAny:
            if (c != kSlash) AddClosure(n.next, text, pos + 1, &next);
            break;
          case Node::kClass:
            if ((*classes_)[n.cls].Matches(c)) AddClosure(n.next, text, pos + 1, &next);
            break;
          case Node::kStar:
            if (c != kSlash) AddClosure(s, text, pos + 1, &next);
            break;
          case Node::kDouble:
            AddClosure(s, text, pos + 1, &next);
            break;
          default:
            break;
        }
      }
      std::swap(current, next);
    }
    for (int s : current) {
      if (s == accept_) return true;
    }
    return false;
  }

 private:
  int Add(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<int>(nodes_.size() - 1);
  }

  // Compiles `items` so that matching them continues at `next`. Built
  // right to left, so every successor exists before its predecessor.
  int Compile(const std::vector<Item>& items, int next) {
    for (auto it = items.rbegin(); it != items.rend(); ++it) next = CompileItem(*it, next);
    return next;
  }

  int CompileItem(const Item& item, int next) {
    switch (item.kind) {
      case Item::kLiteral: {
        Node n{Node::kChar};
        n.cp = item.cp;
        n.next = next;
        return Add(std::move(n));
      }
      case Item::kAny: {
        Node n{Node::kAny};
        n.next = next;
        return Add(std::move(n));
      }
      case Item::kClass: {
        Node n{Node::kClass};
        n.cls = item.cls;
        n.next = next;
        return Add(std::move(n));
      }
      case Item::kStar: {
        Node n{Node::kStar};
        n.next = next;
        return Add(std::move(n));
      }
      case Item::kDoubleStar: {
        // Either a plain '*' or, when it stands as a whole component, a
        // doublestar. The union is right: where "**" is a doublestar,
        // everything '*' matches it matches too.
        Node star{Node::kStar};
        star.next = next;
        int star_id = Add(std::move(star));
        Node dbl{Node::kDouble};
        CollectDoubleExits(next, &dbl);
        int dbl_id = Add(std::move(dbl));
        Node guard{Node::kGuard};
        guard.next = dbl_id;
        int guard_id = Add(std::move(guard));
        Node split{Node::kSplit};
        split.outs = {star_id, guard_id};
        return Add(std::move(split));
      }
      case Item::kAlternatives: {
        Node split{Node::kSplit};
        for (const auto& alt : item.alternatives) split.outs.push_back(Compile(alt, next));
        return Add(std::move(split));
      }
    }
    return next;
  }

  // Where a doublestar may hand over: past a following '/', or to the end.
  void CollectDoubleExits(int from, Node* dbl) {
    std::vector<int> stack{from};
    std::vector<bool> seen(nodes_.size(), false);
    while (!stack.empty()) {
      int s = stack.back();
      stack.pop_back();
      if (seen[s]) continue;
      seen[s] = true;
      const Node& n = nodes_[s];
      if (n.kind == Node::kSplit) {
        for (int o : n.outs) stack.push_back(o);
      } else if (n.kind == Node::kChar && n.cp == kSlash) {
        dbl->outs.push_back(n.next);
      } else if (n.kind == Node::kAccept) {
        dbl->to_accept = true;
      }
    }
  }

  static bool AtComponentStart(const std::vector<uint32_t>& text, size_t pos) {
    return pos == 0 || text[pos - 1] == kSlash;
  }

  // Adds `s` and everything reachable from it without consuming text, as
  // seen at text position `pos`.
  void AddClosure(int s, const std::vector<uint32_t>& text, size_t pos, std::vector<int>* set) {
    stack_.clear();
    stack_.push_back(s);
    while (!stack_.empty()) {
      int id = stack_.back();
      stack_.pop_back();
      if (marks_[id] == generation_) continue;
      marks_[id] = generation_;
      set->push_back(id);
      const Node& n = nodes_[id];
      switch (n.kind) {
        case Node::kSplit:
          for (auto it = n.outs.rbegin(); it != n.outs.rend(); ++it) stack_.push_back(*it);
          break;
        case Node::kStar:
          stack_.push_back(n.next);
          break;
        case Node::kGuard:
          if (AtComponentStart(text, pos)) stack_.push_back(n.next);
          break;
        case Node::kDouble:
          if (n.to_accept) stack_.push_back(accept_);
          if (AtComponentStart(text, pos)) {
            for (int o : n.outs) stack_.push_back(o);
          }
          break;
        default:
          break;
      }
    }
  }

  const std::vector<CharClass>* classes_;
  std::vector<Node> nodes_;
  int accept_ = -1;
  int start_ = -1;
  std::vector<uint32_t> marks_;
  uint32_t generation_ = 1;
  std::vector<int> stack_;
};

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return true;  // Harbor: an empty filter matches everything
  Parser parser(DecodeUtf8(pattern));
  std::vector<Item> items;
  if (!parser.Parse(&items)) return false;
  Nfa nfa(&parser.classes);
  nfa.Build(items);
  return nfa.Run(DecodeUtf8(text));
}

}  // namespace pier
