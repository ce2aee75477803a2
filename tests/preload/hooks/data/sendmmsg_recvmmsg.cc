// sendmmsg(2) and recvmmsg(2): on TCP each message is one send/receive,
// so each message that moved bytes is one event.
#include <poll.h>
#include <sys/socket.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(sendmmsg_recvmmsg, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes data = hooks::pattern(60, 1);
  // Three messages of 20 bytes, each gathered from two iovecs (5 + 15).
  iovec out[6];
  mmsghdr messages[3] = {};
  for (int i = 0; i < 3; ++i) {
    out[2 * i] = {const_cast<char*>(data.data()) + 20 * i, 5};
    out[2 * i + 1] = {const_cast<char*>(data.data()) + 20 * i + 5, 15};
    messages[i].msg_hdr.msg_iov = &out[2 * i];
    messages[i].msg_hdr.msg_iovlen = 2;
  }
  int count = sendmmsg(p.client.fd, messages, 3, 0);
  HOOK_CHECK(count == 3, "sendmmsg sent " + std::to_string(count) + " messages");
  for (int i = 0; i < count; ++i) {
    p.client.sentVector(messages[i].msg_hdr.msg_iov, 2, messages[i].msg_len);
  }

  // Wait until all 60 bytes are there, then take them as three messages of
  // 20 (8 + 12) in one call.
  for (;;) {
    char probe[60];
    const ssize_t queued = recv(p.server.fd, probe, sizeof(probe), MSG_PEEK | MSG_WAITALL);
    HOOK_CHECK(queued > 0, "peek");
    if (queued == 60) break;
  }
  char buffer[60];
  iovec in[6];
  mmsghdr incoming[3] = {};
  for (int i = 0; i < 3; ++i) {
    in[2 * i] = {buffer + 20 * i, 8};
    in[2 * i + 1] = {buffer + 20 * i + 8, 12};
    incoming[i].msg_hdr.msg_iov = &in[2 * i];
    incoming[i].msg_hdr.msg_iovlen = 2;
  }
  count = recvmmsg(p.server.fd, incoming, 3, MSG_WAITFORONE, nullptr);
  HOOK_CHECK(count == 3, "recvmmsg received " + std::to_string(count) + " messages");
  for (int i = 0; i < count; ++i) {
    HOOK_CHECK(incoming[i].msg_len == 20, "message length");
    p.server.receivedVector(incoming[i].msg_hdr.msg_iov, 2, incoming[i].msg_len);
  }
  HOOK_CHECK(p.server.allReceived() == data, "server received other bytes");

  // One message each way back.
  const hooks::Bytes reply = hooks::pattern(11, 2);
  iovec back = {const_cast<char*>(reply.data()), reply.size()};
  mmsghdr answer = {};
  answer.msg_hdr.msg_iov = &back;
  answer.msg_hdr.msg_iovlen = 1;
  HOOK_CHECK(sendmmsg(p.server.fd, &answer, 1, MSG_NOSIGNAL) == 1, "sendmmsg");
  p.server.sentVector(&back, 1, answer.msg_len);
  char target[11];
  iovec into = {target, sizeof(target)};
  mmsghdr reading = {};
  reading.msg_hdr.msg_iov = &into;
  reading.msg_hdr.msg_iovlen = 1;
  HOOK_CHECK(recvmmsg(p.client.fd, &reading, 1, MSG_WAITALL, nullptr) == 1, "recvmmsg");
  p.client.receivedVector(&into, 1, reading.msg_len);
  HOOK_CHECK(p.client.allReceived() == reply, "client received other bytes");
}
