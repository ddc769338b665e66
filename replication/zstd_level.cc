#include "replication/zstd_level.h"

#include <array>
#include <utility>

namespace pier::replication {

int ChooseZstdLevel(std::optional<double> link, const std::function<std::optional<double>(int)>& measured) {
  if (!link || !(*link > 0)) return kDefaultZstdLevel;
  // Highest first: level, table output rate (bytes/s).
  constexpr std::array<std::pair<int, double>, 8> kTable{{
      {19, 0.7e6}, {17, 1.0e6}, {15, 2.2e6}, {12, 7.5e6}, {9, 16e6}, {6, 28e6}, {3, 70e6}, {1, 150e6}}};
  for (const auto& [level, table_rate] : kTable) {
    std::optional<double> m = measured ? measured(level) : std::nullopt;
    if (m.value_or(table_rate) >= 3 * *link) return level;
  }
  return 1;
}

}  // namespace pier::replication
