#include "tools/capture/pcapng_writer.h"

#include "tools/capture/little_endian.h"

namespace tapshim::tap2pcap {
namespace {

constexpr uint32_t kSectionHeaderBlock = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescriptionBlock = 1;
constexpr uint32_t kEnhancedPacketBlock = 6;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kLinkTypeEthernet = 1;
constexpr uint32_t kSnapLength = 262144;

constexpr uint16_t kOptEndOfOptions = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kShbUserApplication = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfTsresol = 9;
constexpr uint16_t kEpbFlags = 2;

void putPadded(std::string* out, std::string_view bytes) {
  out->append(bytes);
  out->append((4 - bytes.size() % 4) % 4, '\0');
}

void putOption(std::string* out, uint16_t code, std::string_view value) {
  putLe16(out, code);
  putLe16(out, static_cast<uint16_t>(value.size()));
  putPadded(out, value);
}

void putEndOfOptions(std::string* out) {
  putLe16(out, kOptEndOfOptions);
  putLe16(out, 0);
}

}  // namespace

PcapngWriter::PcapngWriter(std::ostream& out) : out_(out) {
  std::string section;
  putLe32(&section, kByteOrderMagic);
  putLe16(&section, 1);             // major version
  putLe16(&section, 0);             // minor version
  putLe64(&section, ~uint64_t{0});  // section length: not given
  putOption(&section, kShbUserApplication, "tapshim tap2pcap");
  putEndOfOptions(&section);
  writeBlock(kSectionHeaderBlock, section);

  std::string interface;
  putLe16(&interface, kLinkTypeEthernet);
  putLe16(&interface, 0);  // reserved
  putLe32(&interface, kSnapLength);
  putOption(&interface, kIfName, "tap2pcap");
  putOption(&interface, kIfTsresol, std::string_view("\x09", 1));
  putEndOfOptions(&interface);
  writeBlock(kInterfaceDescriptionBlock, interface);
}

void PcapngWriter::writeBlock(uint32_t type, const std::string& body) {
  const uint32_t total = static_cast<uint32_t>(body.size() + 12);
  std::string block;
  block.reserve(total);
  putLe32(&block, type);
  putLe32(&block, total);
  block.append(body);
  putLe32(&block, total);
  out_.write(block.data(), static_cast<std::streamsize>(block.size()));
}

void PcapngWriter::writePacket(const CapturedPacket& packet) {
  const uint64_t time = packet.time_ns < 0 ? 0 : static_cast<uint64_t>(packet.time_ns);
  std::string body;
  body.reserve(packet.frame.size() + packet.comment.size() + 48);
  putLe32(&body, 0);  // interface id
  putLe32(&body, static_cast<uint32_t>(time >> 32));
  putLe32(&body, static_cast<uint32_t>(time & 0xffffffff));
  putLe32(&body, static_cast<uint32_t>(packet.frame.size()));  // captured
  putLe32(&body, static_cast<uint32_t>(packet.frame.size()));  // on the wire
  putPadded(&body, packet.frame);
  bool options = false;
  if (!packet.comment.empty()) {
    putOption(&body, kOptComment, packet.comment.substr(0, 0xffff));
    options = true;
  }
  if (packet.direction != PacketDirection::kUnknown) {
    std::string flags;
    putLe32(&flags, packet.direction == PacketDirection::kInbound ? 1 : 2);
    putOption(&body, kEpbFlags, flags);
    options = true;
  }
  if (options) putEndOfOptions(&body);
  writeBlock(kEnhancedPacketBlock, body);
}

}  // namespace tapshim::tap2pcap
