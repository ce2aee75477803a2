#include "tools/capture/pcap_writer.h"

#include <string>

#include "tools/capture/little_endian.h"

namespace tapshim::tap2pcap {
namespace {

constexpr uint32_t kNanosecondMagic = 0xa1b23c4d;
constexpr uint32_t kSnapLength = 262144;
constexpr uint32_t kLinkTypeEthernet = 1;

}  // namespace

PcapWriter::PcapWriter(std::ostream& out) : out_(out) {
  std::string header;
  putLe32(&header, kNanosecondMagic);
  putLe16(&header, 2);  // version 2.4
  putLe16(&header, 4);
  putLe32(&header, 0);  // thiszone
  putLe32(&header, 0);  // sigfigs
  putLe32(&header, kSnapLength);
  putLe32(&header, kLinkTypeEthernet);
  out_.write(header.data(), static_cast<std::streamsize>(header.size()));
}

void PcapWriter::writePacket(const CapturedPacket& packet) {
  const uint64_t time = packet.time_ns < 0 ? 0 : static_cast<uint64_t>(packet.time_ns);
  std::string record;
  putLe32(&record, static_cast<uint32_t>(time / 1'000'000'000));
  putLe32(&record, static_cast<uint32_t>(time % 1'000'000'000));
  putLe32(&record, static_cast<uint32_t>(packet.frame.size()));
  putLe32(&record, static_cast<uint32_t>(packet.frame.size()));
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  out_.write(packet.frame.data(), static_cast<std::streamsize>(packet.frame.size()));
}

}  // namespace tapshim::tap2pcap
