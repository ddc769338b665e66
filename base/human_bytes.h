#pragma once
#include <cstdint>
#include <string>

namespace pier {

// "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB": binary units, one decimal, as
// Harbor prints sizes in its quota messages.
std::string HumanBytes(uint64_t n);

}  // namespace pier
