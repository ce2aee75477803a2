// Classic libpcap files with nanosecond timestamps (magic a1b23c4d),
// Ethernet link type. The format has no place for comments or directions.
#pragma once

#include <ostream>

#include "tools/capture/capture_writer.h"

namespace tapshim::tap2pcap {

class PcapWriter : public CaptureWriter {
 public:
  // Writes the global header.
  explicit PcapWriter(std::ostream& out);

  // CaptureWriter
  void writePacket(const CapturedPacket& packet) override;

 private:
  std::ostream& out_;
};

}  // namespace tapshim::tap2pcap
