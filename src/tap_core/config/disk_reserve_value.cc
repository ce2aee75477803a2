#include "tap_core/config/disk_reserve_value.h"

namespace tapshim::core {
namespace {

// Decimal digits only, within 64 bits.
std::optional<uint64_t> parseCount(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace

std::optional<DiskReserveValue> parseDiskReserve(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.back() == '%') {
    const std::optional<uint64_t> percent = parseCount(text.substr(0, text.size() - 1));
    if (!percent.has_value() || *percent > 100) return std::nullopt;
    return DiskReserveValue{0, static_cast<uint32_t>(*percent)};
  }
  int shift = 0;
  switch (text.back()) {
    case 'k':
    case 'K':
      shift = 10;
      break;
    case 'm':
    case 'M':
      shift = 20;
      break;
    case 'g':
    case 'G':
      shift = 30;
      break;
    default:
      break;
  }
  const std::optional<uint64_t> count =
      parseCount(shift == 0 ? text : text.substr(0, text.size() - 1));
  if (!count.has_value() || *count > (UINT64_MAX >> shift)) return std::nullopt;
  return DiskReserveValue{*count << shift, 0};
}

}  // namespace tapshim::core
