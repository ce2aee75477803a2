// Just enough UTF-8 for JSON_BODY_AS_STRING.
#pragma once

#include <cstdint>
#include <string_view>

namespace tapshim::core::utf8 {

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or values
// past U+10FFFF), as protobuf requires of a string field.
bool isValid(std::string_view text);

inline constexpr uint32_t kInvalid = 0xFFFFFFFF;

// Decodes the code point at text[*index] and advances *index past it; on a
// malformed sequence returns kInvalid and advances one byte.
uint32_t next(std::string_view text, size_t* index);

}  // namespace tapshim::core::utf8
