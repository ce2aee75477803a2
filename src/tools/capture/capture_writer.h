// src/tools/capture/: packets and capture files, knowing nothing of
// traces: IPv4/IPv6 TCP segments with valid checksums (packet_builder.h,
// checksum.h, ip_endpoint.h) written to a pcapng or a classic pcap file
// (this interface, pcapng_writer.h, pcap_writer.h). Used by tap2pcap.
//
// Where synthesized packets go: a pcapng or a classic pcap file.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string_view>

namespace tapshim::tap2pcap {

// Relative to the tapped program: a read is inbound, a write outbound.
enum class PacketDirection { kUnknown, kInbound, kOutbound };

struct CapturedPacket {
  int64_t time_ns = 0;     // since the epoch
  std::string_view frame;  // Ethernet frame
  PacketDirection direction = PacketDirection::kUnknown;
  std::string_view comment;  // pcapng opt_comment; empty for none
};

class CaptureWriter {
 public:
  virtual ~CaptureWriter() = default;
  virtual void writePacket(const CapturedPacket& packet) = 0;
};

enum class CaptureFormat { kPcapng, kPcap };

// A writer that has already written the file header to `out`. Both formats
// carry nanosecond timestamps and Ethernet frames.
std::unique_ptr<CaptureWriter> makeCaptureWriter(CaptureFormat format, std::ostream& out);

}  // namespace tapshim::tap2pcap
