#include "tools/trace_reader/record_scanner.h"

#include "tools/trace_reader/binary_record_scanner.h"
#include "tools/trace_reader/bracketed_record_scanner.h"

namespace tapshim::tap2pcap {

std::unique_ptr<RecordScanner> makeRecordScanner(TraceFormat format, std::istream& in) {
  switch (format) {
    case TraceFormat::kProtoBinary:
      return std::make_unique<BinaryRecordScanner>(in, /*delimited=*/false);
    case TraceFormat::kProtoLengthDelimited:
      return std::make_unique<BinaryRecordScanner>(in, /*delimited=*/true);
    case TraceFormat::kProtoText:
      return std::make_unique<BracketedRecordScanner>(in,
                                                      BracketedRecordScanner::Dialect::kProtoText);
    case TraceFormat::kJson:
      return std::make_unique<BracketedRecordScanner>(in, BracketedRecordScanner::Dialect::kJson);
  }
  return nullptr;
}

}  // namespace tapshim::tap2pcap
