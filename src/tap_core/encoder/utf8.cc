#include "tap_core/encoder/utf8.h"

namespace tapshim::core::utf8 {

bool isValid(std::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    const uint8_t lead = bytes[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t minimum;
    uint32_t value;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, minimum = 0x80, value = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, minimum = 0x800, value = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, minimum = 0x10000, value = lead & 0x07;
    } else {
      return false;
    }
    if (size - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return false;
      value = (value << 6) | (bytes[i + k] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

uint32_t next(std::string_view text, size_t* index) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  const uint8_t lead = bytes[*index];
  size_t length;
  uint32_t value;
  uint32_t minimum;
  if (lead < 0x80) {
    ++*index;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    ++*index;
    return kInvalid;
  }
  if (size - *index < length) {
    ++*index;
    return kInvalid;
  }
  for (size_t k = 1; k < length; ++k) {
    if ((bytes[*index + k] & 0xC0) != 0x80) {
      ++*index;
      return kInvalid;
    }
    value = (value << 6) | (bytes[*index + k] & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    ++*index;
    return kInvalid;
  }
  *index += length;
  return value;
}

}  // namespace tapshim::core::utf8
