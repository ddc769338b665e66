#include "base/human_bytes.h"

#include <cstdio>

namespace pier {

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char b[32];
  if (u == 0) std::snprintf(b, sizeof b, "%llu B", static_cast<unsigned long long>(n));
  else std::snprintf(b, sizeof b, "%.1f %s", v, units[u]);
  return b;
}

}  // namespace pier
