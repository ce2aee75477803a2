// The four trace file formats, told apart by the file name's extension as
// Envoy's file_per_tap sink names them.
#pragma once

#include <optional>
#include <string_view>

namespace tapshim::tap2pcap {

enum class TraceFormat {
  kProtoBinary,           // .pb: one TraceWrapper, or streamed records back to back
  kProtoLengthDelimited,  // .pb_length_delimited: varint length + TraceWrapper, repeated
  kProtoText,             // .pb_text: TextFormat messages, concatenated
  kJson,                  // .json: JSON objects, concatenated
};

// The format a path's extension names, or nothing for another extension.
std::optional<TraceFormat> traceFormatForPath(std::string_view path);

// True for the formats that carry field numbers (and so can carry the old
// Connection numbering); text and JSON name their fields.
bool isBinaryFormat(TraceFormat format);

}  // namespace tapshim::tap2pcap
