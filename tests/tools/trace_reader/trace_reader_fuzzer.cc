// libFuzzer target: arbitrary bytes as a trace file of each format, through
// the record scanners, parsers and the first and second pass (index and
// cursor). Every outcome is fine except a crash, a hang or a sanitizer
// report. run_fuzzer.py runs it for a bounded time.
#include <google/protobuf/stubs/logging.h>

#include <sstream>
#include <string>

#include "tools/trace_reader/trace_cursor.h"
#include "tools/trace_reader/trace_index.h"

namespace {

using namespace tapshim::tap2pcap;

void convertOne(const std::string& input, TraceFormat format, ConnectionNumbering numbering) {
  std::istringstream in(input);
  TraceIndex index(numbering);
  if (!index.addInput(0, in, format).ok()) return;
  MemoryRecordSource source({input});
  for (const TraceSummary& trace : index.traces()) {
    TraceCursor cursor(trace, format, numbering, &source);
    while (cursor.advance().ok() && !cursor.done()) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool silenced = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)silenced;
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (TraceFormat format : {TraceFormat::kProtoBinary, TraceFormat::kProtoLengthDelimited,
                             TraceFormat::kProtoText, TraceFormat::kJson}) {
    convertOne(input, format, ConnectionNumbering::kDetect);
  }
  convertOne(input, TraceFormat::kProtoBinary, ConnectionNumbering::kOld);
  return 0;
}
