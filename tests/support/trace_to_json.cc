// Test helper: parses trace files with libprotobuf and prints each record
// as one line of JSON, so that integration tests (in Python) can check
// them.
//
//   trace_to_json FILE...
//
// The format comes from the extension, as Envoy names its files: .pb (one
// TraceWrapper, or streamed records back to back), .pb_length_delimited,
// .pb_text, .json. Every record must parse completely; binary records must
// carry no unknown fields and re-serialise to their own length (tapshim's
// encoding is canonical). Otherwise the tool names the file and the
// problem on stderr and exits 1. Output, one line per record:
//   {"file": "...", "record": N, "trace": {<TraceWrapper as protobuf JSON>}}
// with bytes in base64, field names as in the .proto, and the tapshim
// extension fields included.
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <iostream>
#include <string>

#include "envoy/data/tap/v3/wrapper.pb.h"
#include "tools/trace_reader/record_parser.h"
#include "tools/trace_reader/record_scanner.h"
#include "tools/trace_reader/trace_format.h"

namespace {

using tapshim::tap2pcap::TraceFormat;

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

bool hasUnknownFields(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const auto* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        if (hasUnknownFields(reflection->GetRepeatedMessage(message, field, i))) return true;
      }
    } else if (hasUnknownFields(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

bool printFile(const std::string& path) {
  const std::optional<TraceFormat> format = tapshim::tap2pcap::traceFormatForPath(path);
  if (!format.has_value()) {
    std::cerr << path << ": not a trace file name (.pb, .pb_length_delimited, .pb_text, .json)\n";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << path << ": cannot read\n";
    return false;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto scanner = tapshim::tap2pcap::makeRecordScanner(*format, in);
  std::string record;
  tapshim::tap2pcap::RecordLocation location;
  for (int index = 0;; ++index) {
    absl::StatusOr<bool> more = scanner->next(&record, &location);
    if (!more.ok()) {
      std::cerr << path << ": " << more.status().message() << "\n";
      return false;
    }
    if (!*more) return index > 0 || (std::cerr << path << ": empty\n", false);
    envoy::data::tap::v3::TraceWrapper trace;
    const absl::Status parsed = tapshim::tap2pcap::parseRecord(
        record, *format, tapshim::tap2pcap::ConnectionNumbering::kDetect, &trace);
    if (!parsed.ok()) {
      std::cerr << path << ": record " << index << ": " << parsed.message() << "\n";
      return false;
    }
    if (tapshim::tap2pcap::isBinaryFormat(*format)) {
      if (hasUnknownFields(trace)) {
        std::cerr << path << ": record " << index << ": unknown fields\n";
        return false;
      }
      if (trace.ByteSizeLong() != record.size()) {
        std::cerr << path << ": record " << index << ": re-serialises to " << trace.ByteSizeLong()
                  << " bytes, the file has " << record.size() << "\n";
        return false;
      }
    }
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(trace, &json, options).ok()) {
      std::cerr << path << ": record " << index << ": cannot print as JSON\n";
      return false;
    }
    std::cout << "{\"file\": " << jsonString(path) << ", \"record\": " << index
              << ", \"trace\": " << json << "}\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: trace_to_json FILE...\n";
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    if (!printFile(argv[i])) return 1;
  }
  return 0;
}
