// A CaptureWriter that keeps the packets, and a decoder of the TCP fields
// the tests look at.
#pragma once

#include <string>
#include <vector>

#include "tools/capture/capture_writer.h"
#include "tools/capture/packet_builder.h"

namespace tapshim::tap2pcap::testing {

struct RecordedPacket {
  int64_t time_ns;
  std::string frame;
  PacketDirection direction;
  std::string comment;
  // Decoded from the frame (IPv4 or IPv6):
  uint16_t source_port;
  uint16_t destination_port;
  uint32_t seq;
  uint32_t ack;
  uint8_t flags;
  std::string payload;
};

class RecordingWriter : public CaptureWriter {
 public:
  void writePacket(const CapturedPacket& packet) override;
  std::vector<RecordedPacket> packets;
};

}  // namespace tapshim::tap2pcap::testing
