// TAP_DISK_RESERVE's value: the free space to leave on the file system of
// the traces, as bytes or as a percentage of its size.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tapshim::core {

struct DiskReserveValue {
  uint64_t bytes = 0;
  uint32_t percent = 0;  // used when not 0
};

// "N" bytes, "NK", "NM", "NG" (1024, 1024^2, 1024^3 bytes; either case),
// or "P%" with P from 0 to 100. Nothing else: no sign, space or fraction.
std::optional<DiskReserveValue> parseDiskReserve(std::string_view text);

}  // namespace tapshim::core
