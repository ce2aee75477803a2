#include "tools/capture/capture_writer.h"

#include "tools/capture/pcap_writer.h"
#include "tools/capture/pcapng_writer.h"

namespace tapshim::tap2pcap {

std::unique_ptr<CaptureWriter> makeCaptureWriter(CaptureFormat format, std::ostream& out) {
  if (format == CaptureFormat::kPcap) return std::make_unique<PcapWriter>(out);
  return std::make_unique<PcapngWriter>(out);
}

}  // namespace tapshim::tap2pcap
