// sendfile(2), sendfile64 and splice(2): data the kernel moves without
// passing it through the program. sendfile's bytes are read back from the
// file (one write event each call, with or without an offset pointer);
// splice's cannot be, so each splice on a tapped socket is a gap (an empty,
// truncated event) in its direction.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "tests/preload/hooks/harness.h"

extern "C" ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count);

namespace {

// A temporary file holding `data`, already unlinked.
int temporaryFile(const hooks::Bytes& data) {
  char path[] = "/tmp/tapshim-hook-sendfile-XXXXXX";
  const int fd = static_cast<int>(HOOK_OK(mkstemp(path)));
  HOOK_OK(unlink(path));
  HOOK_CHECK(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()),
             "file write");
  HOOK_OK(lseek(fd, 0, SEEK_SET));
  return fd;
}

}  // namespace

HOOK_SCENARIO(sendfile, "") {
  hooks::Pair& p = h.connectPair();
  const hooks::Bytes content = hooks::pattern(900, 1);
  const int file = temporaryFile(content);
  // From the file position (which sendfile advances), then at offsets.
  ssize_t n = sendfile(p.client.fd, file, nullptr, 300);
  HOOK_CHECK(n == 300, "sendfile from the file position");
  p.client.sent(content.data(), n);
  off_t offset = 600;
  n = sendfile(p.client.fd, file, &offset, 200);
  HOOK_CHECK(n == 200 && offset == 800, "sendfile at an offset");
  p.client.sent(content.data() + 600, n);
  off64_t offset64 = 300;
  n = sendfile64(p.client.fd, file, &offset64, 300);
  HOOK_CHECK(n == 300 && offset64 == 600, "sendfile64 at an offset");
  p.client.sent(content.data() + 300, n);
  HOOK_OK(close(file));
  const hooks::Bytes expected =
      content.substr(0, 300) + content.substr(600, 200) + content.substr(300, 300);
  HOOK_CHECK(h.readExact(p.server, expected.size()) == expected, "server received other bytes");
}

HOOK_SCENARIO(splice, "") {
  hooks::Pair& p = h.connectPair();
  int pipe_fds[2];
  HOOK_OK(pipe(pipe_fds));
  // pipe -> client socket: the client's trace shows a write gap.
  const hooks::Bytes data = hooks::pattern(40, 2);
  HOOK_CHECK(write(pipe_fds[1], data.data(), data.size()) == 40, "pipe write");
  ssize_t n = splice(pipe_fds[0], nullptr, p.client.fd, nullptr, 40, 0);
  HOOK_CHECK(n == 40, "splice into the socket");
  p.client.sentUnseen(data);
  // server socket -> pipe: the server's trace shows a read gap.
  n = splice(p.server.fd, nullptr, pipe_fds[1], nullptr, 40, SPLICE_F_MOVE);
  HOOK_CHECK(n > 0, "splice out of the socket");
  p.server.discarded(data.substr(0, static_cast<size_t>(n)));
  char buffer[40];
  HOOK_CHECK(
      read(pipe_fds[0], buffer, static_cast<size_t>(n)) == n &&
          hooks::Bytes(buffer, static_cast<size_t>(n)) == data.substr(0, static_cast<size_t>(n)),
      "pipe holds the spliced bytes");
  if (n < 40) HOOK_CHECK(h.readExact(p.server, 40 - n) == data.substr(n), "rest of the bytes");
  HOOK_OK(close(pipe_fds[0]));
  HOOK_OK(close(pipe_fds[1]));
  // Ordinary bytes after the gaps are recorded as usual.
  h.writeAll(p.client, "after");
  HOOK_CHECK(h.readExact(p.server, 5) == "after", "server received other bytes");
}
