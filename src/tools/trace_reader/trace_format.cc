#include "tools/trace_reader/trace_format.h"

namespace tapshim::tap2pcap {

std::optional<TraceFormat> traceFormatForPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view extension = name.substr(dot);
  if (extension == ".pb") return TraceFormat::kProtoBinary;
  if (extension == ".pb_length_delimited") return TraceFormat::kProtoLengthDelimited;
  if (extension == ".pb_text") return TraceFormat::kProtoText;
  if (extension == ".json") return TraceFormat::kJson;
  return std::nullopt;
}

bool isBinaryFormat(TraceFormat format) {
  return format == TraceFormat::kProtoBinary || format == TraceFormat::kProtoLengthDelimited;
}

}  // namespace tapshim::tap2pcap
