// pcapng (the IETF draft "PCAP Now Generic"): one section, one Ethernet
// interface with if_tsresol = 9 (nanoseconds), Enhanced Packet Blocks with
// opt_comment (where the trace has something to say) and epb_flags
// (inbound/outbound, as text2pcap -D writes them).
#pragma once

#include <ostream>
#include <string>

#include "tools/capture/capture_writer.h"

namespace tapshim::tap2pcap {

class PcapngWriter : public CaptureWriter {
 public:
  // Writes the Section Header and Interface Description blocks.
  explicit PcapngWriter(std::ostream& out);

  // CaptureWriter
  void writePacket(const CapturedPacket& packet) override;

 private:
  void writeBlock(uint32_t type, const std::string& body);

  std::ostream& out_;
};

}  // namespace tapshim::tap2pcap
