// sendmsg(2) and recvmsg(2): one event per call, over every iovec.
#include <sys/socket.h>

#include "tests/preload/hooks/harness.h"

HOOK_SCENARIO(sendmsg_recvmsg, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes a = hooks::pattern(40, 1), b = hooks::pattern(88, 2);
  iovec out[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  msghdr message{};
  message.msg_iov = out;
  message.msg_iovlen = 2;
  ssize_t n = sendmsg(p.client.fd, &message, MSG_NOSIGNAL);
  HOOK_CHECK(n == 128, "short sendmsg");
  p.client.sentVector(out, 2, n);

  char first[100], second[28];
  iovec in[2] = {{first, sizeof(first)}, {second, sizeof(second)}};
  msghdr incoming{};
  incoming.msg_iov = in;
  incoming.msg_iovlen = 2;
  n = recvmsg(p.server.fd, &incoming, MSG_WAITALL);
  HOOK_CHECK(n == 128, "recvmsg");
  p.server.receivedVector(in, 2, n);
  HOOK_CHECK(p.server.allReceived() == a + b, "server received other bytes");

  const hooks::Bytes reply = hooks::pattern(9, 3);
  iovec back = {const_cast<char*>(reply.data()), reply.size()};
  msghdr answer{};
  answer.msg_iov = &back;
  answer.msg_iovlen = 1;
  n = sendmsg(p.server.fd, &answer, 0);
  HOOK_CHECK(n == 9, "short sendmsg");
  p.server.sentVector(&back, 1, n);
  char buffer[9];
  iovec target = {buffer, sizeof(buffer)};
  msghdr reading{};
  reading.msg_iov = &target;
  reading.msg_iovlen = 1;
  n = recvmsg(p.client.fd, &reading, MSG_WAITALL);
  HOOK_CHECK(n == 9, "recvmsg");
  p.client.receivedVector(&target, 1, n);
  HOOK_CHECK(hooks::Bytes(buffer, 9) == reply, "client received other bytes");
}
