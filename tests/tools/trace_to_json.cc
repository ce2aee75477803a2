// Test helper: parses trace files with libprotobuf and prints each as one
// line of JSON, so that integration tests (in Python) can check them.
//
//   trace_to_json FILE...
//
// Each file must hold exactly one binary TraceWrapper (PROTO_BINARY) that
// libprotobuf parses completely; otherwise the tool names the file and the
// problem on stderr and exits 1. Output per file:
//   {"file": "...", "trace": {<TraceWrapper as protobuf JSON>}}
// Bytes are base64, field names as in the .proto (snake_case), and the
// tapshim extension fields are included.
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "envoy/data/tap/v3/wrapper.pb.h"

namespace {

bool readFile(const std::string& path, std::string* contents) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *contents = buffer.str();
  return true;
}

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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: trace_to_json FILE...\n";
    return 2;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  for (int i = 1; i < argc; ++i) {
    const std::string path = argv[i];
    std::string contents;
    if (!readFile(path, &contents)) {
      std::cerr << path << ": cannot read\n";
      return 1;
    }
    envoy::data::tap::v3::TraceWrapper trace;
    if (!trace.ParseFromString(contents)) {
      std::cerr << path << ": not a binary TraceWrapper\n";
      return 1;
    }
    if (!trace.GetReflection()->GetUnknownFields(trace).empty()) {
      std::cerr << path << ": unknown fields in the TraceWrapper\n";
      return 1;
    }
    if (trace.ByteSizeLong() != contents.size()) {
      std::cerr << path << ": re-serialises to " << trace.ByteSizeLong() << " bytes, file has "
                << contents.size() << "\n";
      return 1;
    }
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(trace, &json, options).ok()) {
      std::cerr << path << ": cannot print as JSON\n";
      return 1;
    }
    std::cout << "{\"file\": " << jsonString(path) << ", \"trace\": " << json << "}\n";
  }
  return 0;
}
