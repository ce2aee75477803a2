// KernelSocketProbe::tcpTotals: the kernel's own byte counts of a TCP
// connection (TCP_INFO's tcpi_bytes_acked and tcpi_bytes_received, Linux
// 4.1; tcpi_notsent_bytes, 4.6) and its queues (SIOCOUTQ, SIOCINQ). Apart
// from the rest of the probe because it needs <linux/tcp.h>'s struct
// tcp_info, which <netinet/tcp.h> would redefine.
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include <cstddef>

#include "tap_core/base/os.h"
#include "tap_core/engine/socket_probe.h"

namespace tapshim::core {
namespace {

// Linux's TCP states (include/net/tcp_states.h), as tcpi_state gives them.
enum : uint8_t {
  kEstablished = 1,
  kSynSent = 2,
  kSynRecv = 3,
  kFinWait1 = 4,
  kFinWait2 = 5,
  kTimeWait = 6,
  kClose = 7,
  kCloseWait = 8,
  kLastAck = 9,
  kListen = 10,
  kClosing = 11,
};

uint64_t minus(uint64_t value, uint64_t amount) { return value > amount ? value - amount : 0; }

// One reading of the kernel's counts; false when the kernel cannot say.
bool readTotals(int fd, bool active_open, const TcpTotals& moved, TcpTotals* totals) {
  tcp_info info{};
  socklen_t size = sizeof(info);
  if (os::socketOptionBytes(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return false;
  if (size < offsetof(tcp_info, tcpi_notsent_bytes) + sizeof(info.tcpi_notsent_bytes)) {
    return false;  // an older kernel
  }
  const uint8_t state = info.tcpi_state;
  if (state == kSynSent || state == kSynRecv || state == kListen) return false;
  // Sequence space on each side: an active opener's SYN is acknowledged
  // like data (a passive opener's is not: its socket is made after it), and
  // a FIN counts once sent (our side) or received (theirs). SIOCINQ leaves
  // the peer's FIN out.
  const bool our_fin = state == kFinWait1 || state == kFinWait2 || state == kClosing ||
                       state == kTimeWait || state == kLastAck;
  const bool their_fin =
      state == kCloseWait || state == kLastAck || state == kClosing || state == kTimeWait;
  // CLOSE follows both FINs or a reset: either FIN may be in the counts.
  totals->slack = state == kClose ? 1 : 0;

  // Sent: acknowledged, plus what waits in the send queue. With nothing
  // in flight that is what TCP_INFO calls not sent yet; otherwise SIOCOUTQ
  // has it.
  uint64_t queued = info.tcpi_notsent_bytes;
  if (info.tcpi_unacked != 0) {
    int unsent_or_unacked = 0;
    if (os::ioctlInt(fd, SIOCOUTQ, &unsent_or_unacked) != 0) return false;
    queued = static_cast<uint64_t>(unsent_or_unacked > 0 ? unsent_or_unacked : 0);
  }
  totals->sent = minus(info.tcpi_bytes_acked + queued, (active_open ? 1 : 0) + (our_fin ? 1 : 0));

  // Received: delivered, minus what waits to be read (SIOCINQ), asked only
  // when delivered alone is more than hooked calls took.
  const uint64_t delivered = minus(info.tcpi_bytes_received, their_fin ? 1 : 0);
  if (delivered <= moved.received + totals->slack) {
    totals->received = moved.received;
  } else {
    int unread = 0;
    if (os::ioctlInt(fd, SIOCINQ, &unread) != 0) return false;
    totals->received = minus(delivered, static_cast<uint64_t>(unread > 0 ? unread : 0));
  }
  return true;
}

bool claimsUnseenBytes(const TcpTotals& totals, const TcpTotals& moved) {
  return totals.sent > moved.sent + totals.slack || totals.received > moved.received + totals.slack;
}

}  // namespace

bool KernelSocketProbe::tcpTotals(int fd, bool active_open, const TcpTotals& moved,
                                  TcpTotals* totals) {
  // TCP_INFO takes tcpi_state before it locks the socket for the counts,
  // so a FIN that lands in between is in tcpi_bytes_received while the
  // state still says none came (ESTABLISHED, FIN_WAIT2): one byte too many,
  // a false gap (seen under load, a client closing right after its
  // response). The FIN was whole before the counts were read, so a second
  // reading sees its state: asked only when the first claims a gap.
  if (!readTotals(fd, active_open, moved, totals)) return false;
  if (!claimsUnseenBytes(*totals, moved)) return true;
  return readTotals(fd, active_open, moved, totals);
}

}  // namespace tapshim::core
