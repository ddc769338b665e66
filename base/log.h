#pragma once
// Structured logging: one line per event, logfmt style
//   ts=2026-11-27T19:52:51.123Z level=info msg="blob committed" repo=a/b size=123
// Values are quoted when they contain spaces, quotes or '='. Secrets are never
// passed here (callers log user names, never passwords or tokens).
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace pier::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
bool Enabled(Level level);
// Parses "debug" / "info" / "warn" / "error"; false when unknown.
bool ParseLevel(std::string_view text, Level* out);

using Field = std::pair<std::string_view, std::string>;
void Write(Level level, std::string_view message, std::span<const Field> fields);
inline void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {}) {
  Write(level, message, std::span<const Field>(fields.begin(), fields.size()));
}

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) { Write(Level::kError, m, f); }

}  // namespace pier::log
