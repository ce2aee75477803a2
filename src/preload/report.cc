#include "preload/report.h"

#include <linux/close_range.h>

#include <atomic>
#include <cerrno>
#include <climits>

#include "preload/real_functions.h"
#include "preload/shim.h"
#include "preload/static_exec.h"
#include "preload/unhooked_tls.h"
#include "tap_core/base/os.h"

namespace tapshim::preload::report {
namespace {

using core::Direction;

__thread int t_last_read_fd __attribute__((tls_model("initial-exec"))) = -1;
__thread const void* t_last_read_buffer __attribute__((tls_model("initial-exec"))) = nullptr;
__thread size_t t_last_read_size __attribute__((tls_model("initial-exec"))) = 0;
using core::IoSlices;
using core::TapEngine;

void data(int fd, Direction direction, const iovec* iov, size_t count, size_t total) {
  if (t_tls_depth > 0) {
    // The TLS library's own I/O: records, not the program's data.
    const void* session = t_tls_session;
    withEngine([&](TapEngine& engine) { engine.onTlsSocketIo(session, fd); });
    return;
  }
  if (direction == Direction::kRead && count > 0) {
    // Remembered for a memory-BIO program that feeds these very bytes to
    // its TLS library next (BIO_write): see bioWritten.
    t_last_read_fd = fd;
    t_last_read_buffer = iov[0].iov_base;
    t_last_read_size = total;
  }
  const IoSlices slices(iov, count, total);
  if (!withEngine([&](TapEngine& engine) { engine.onData(fd, direction, slices); })) {
    // Inside the shim already (a signal handler): the trace shows a gap.
    if (core::TapEngine* active = engine()) active->onUnrecorded(fd, direction);
  }
}

void single(int fd, Direction direction, const void* buffer, size_t total) {
  iovec slice{const_cast<void*>(buffer), total};
  data(fd, direction, &slice, 1, total);
}

// SCM_RIGHTS brings new fds into the process: whatever was known about
// those numbers is stale. (The sockets are adopted at their first I/O.)
void forgetPassedFds(const msghdr* message) {
  if (message->msg_control == nullptr) return;
  for (cmsghdr* header = CMSG_FIRSTHDR(const_cast<msghdr*>(message)); header != nullptr;
       header = CMSG_NXTHDR(const_cast<msghdr*>(message), header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const int* fds = reinterpret_cast<const int*>(CMSG_DATA(header));
    withEngine([&](TapEngine& engine) {
      for (size_t i = 0; i < count; ++i) engine.onSocketCreated(fds[i]);
    });
  }
}

}  // namespace

void received(int fd, ssize_t result, const void* buffer, int flags) {
  if (result <= 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE))) return;
  if (flags & MSG_TRUNC) {
    // TCP discards the bytes instead of copying them: the program consumed
    // data the shim never sees.
    withEngine([&](TapEngine& engine) { engine.onUnseen(fd, Direction::kRead); });
    return;
  }
  single(fd, Direction::kRead, buffer, static_cast<size_t>(result));
}

void receivedVector(int fd, ssize_t result, const iovec* iov, int iovcnt) {
  if (result <= 0) return;
  data(fd, Direction::kRead, iov, static_cast<size_t>(iovcnt), static_cast<size_t>(result));
}

void receivedMessage(int fd, ssize_t result, const msghdr* message, int flags) {
  if (result < 0 || message == nullptr) return;
  forgetPassedFds(message);
  if (result == 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE))) return;
  if (flags & MSG_TRUNC) {
    withEngine([&](TapEngine& engine) { engine.onUnseen(fd, Direction::kRead); });
    return;
  }
  data(fd, Direction::kRead, message->msg_iov, message->msg_iovlen, static_cast<size_t>(result));
}

void receivedMessages(int fd, int result, const mmsghdr* messages, int flags) {
  for (int i = 0; i < result; ++i) {
    receivedMessage(fd, messages[i].msg_len, &messages[i].msg_hdr, flags);
  }
}

void sent(int fd, ssize_t result, const void* buffer) {
  if (result <= 0) return;
  single(fd, Direction::kWrite, buffer, static_cast<size_t>(result));
}

void sentVector(int fd, ssize_t result, const iovec* iov, int iovcnt) {
  if (result <= 0) return;
  data(fd, Direction::kWrite, iov, static_cast<size_t>(iovcnt), static_cast<size_t>(result));
}

void sentMessage(int fd, ssize_t result, const msghdr* message) {
  if (result <= 0 || message == nullptr) return;
  data(fd, Direction::kWrite, message->msg_iov, message->msg_iovlen, static_cast<size_t>(result));
}

void sentMessages(int fd, int result, const mmsghdr* messages) {
  for (int i = 0; i < result; ++i) sentMessage(fd, messages[i].msg_len, &messages[i].msg_hdr);
}

void sendingFile(CallState& call, int out_fd, int in_fd, const off_t* offset) {
  withEngine([&](TapEngine& engine) {
    if (!engine.mayBeTapped(out_fd)) return;
    call.file_position = offset != nullptr ? *offset : core::os::filePosition(in_fd);
  });
}

void sentFile(const CallState& call, int out_fd, int in_fd, ssize_t result) {
  if (result <= 0) return;
  if (call.file_position < 0) {
    // Tapped after all (adopted), or a file without a position: a gap.
    withEngine([&](TapEngine& engine) { engine.onUnseen(out_fd, Direction::kWrite); });
    return;
  }
  const IoSlices slices =
      IoSlices::fromFile(in_fd, call.file_position, static_cast<size_t>(result));
  withEngine([&](TapEngine& engine) { engine.onData(out_fd, Direction::kWrite, slices); });
}

void spliced(int fd_in, int fd_out, ssize_t result) {
  if (result <= 0) return;
  withEngine([&](TapEngine& engine) {
    engine.onUnseen(fd_in, Direction::kRead);
    engine.onUnseen(fd_out, Direction::kWrite);
  });
}

namespace {

// SSL_get_fd, for a session whose socket the shim has not seen: -1 for
// memory BIOs and custom BIOs (curl's).
int openSslFd(const void* session) {
  using GetFd = int (*)(const void*);
  static std::atomic<GetFd> get_fd{nullptr};
  GetFd next = get_fd.load(std::memory_order_acquire);
  if (next == nullptr) {
    next = reinterpret_cast<GetFd>(real::findSymbol("SSL_get_fd"));
    if (next == nullptr) return -1;
    get_fd.store(next, std::memory_order_release);
  }
  return next(session);
}

// SSL_get_rbio: the memory BIO a session reads its records from.
const void* openSslReadBio(const void* session) {
  using GetBio = const void* (*)(const void*);
  static std::atomic<GetBio> get_bio{nullptr};
  GetBio next = get_bio.load(std::memory_order_acquire);
  if (next == nullptr) {
    next = reinterpret_cast<GetBio>(real::findSymbol("SSL_get_rbio"));
    if (next == nullptr) return nullptr;
    get_bio.store(next, std::memory_order_release);
  }
  return next(session);
}

}  // namespace

void bioWritten(const void* bio, const void* data, int result) {
  // Only the program's own BIO_write (libssl's run inside TLS calls), with
  // exactly the buffer of this thread's last socket read.
  if (t_tls_depth > 0 || result <= 0 || data != t_last_read_buffer ||
      static_cast<size_t>(result) != t_last_read_size || t_last_read_fd < 0) {
    return;
  }
  const int fd = t_last_read_fd;
  t_last_read_fd = -1;
  withEngine([&](TapEngine& engine) { engine.onTlsBioFed(bio, fd); });
}

void tlsEnter(CallState& call, const void* session) {
  call.tls_outermost = t_tls_depth == 0;
  if (call.tls_outermost) t_tls_session = session;
  ++t_tls_depth;
}

void tlsLeave(const CallState& call) {
  --t_tls_depth;
  if (call.tls_outermost) t_tls_session = nullptr;
}

namespace {

void tlsData(const CallState& call, const void* session, Direction direction, const void* buffer,
             ssize_t result, const size_t* count, TlsLibrary library) {
  tlsLeave(call);
  if (!call.tls_outermost) return;
  size_t bytes;
  if (count != nullptr) {
    if (result != 1) return;  // the _ex forms: 1 and *count bytes on success
    bytes = *count;
  } else {
    if (result <= 0) return;  // WANT_READ/WANT_WRITE, errors, close_notify
    bytes = static_cast<size_t>(result);
  }
  if (bytes == 0) return;
  iovec slice{const_cast<void*>(buffer), bytes};
  const IoSlices slices(&slice, 1, bytes);
  withEngine([&](TapEngine& engine) {
    if (library == TlsLibrary::kOpenSsl) {
      engine.onTlsData(session, direction, slices, &openSslFd, &openSslReadBio);
    } else {
      engine.onTlsData(session, direction, slices, nullptr);
    }
  });
}

}  // namespace

void tlsReceived(const CallState& call, const void* session, const void* buffer, ssize_t result,
                 const size_t* count, TlsLibrary library) {
  tlsData(call, session, Direction::kRead, buffer, result, count, library);
}

void tlsSent(const CallState& call, const void* session, const void* buffer, ssize_t result,
             const size_t* count, TlsLibrary library) {
  tlsData(call, session, Direction::kWrite, buffer, result, count, library);
}

void tlsBound(const void* session, int fd, bool ok) {
  if (!ok || fd < 0) return;
  withEngine([&](TapEngine& engine) { engine.onTlsBind(session, fd); });
}

void tlsBoundPointer(const void* session, const void* pointer) {
  // GnuTLS's default transport takes the fd cast to a pointer; anything
  // larger is the program's own transport object.
  const auto value = reinterpret_cast<uintptr_t>(pointer);
  if (value < static_cast<uintptr_t>(core::FdTable::kMaxFd)) {
    tlsBound(session, static_cast<int>(value), true);
  }
}

void tlsFreed(const void* session) {
  withEngine([&](TapEngine& engine) { engine.onTlsSessionEnd(session); });
}

void created(int result) {
  if (result < 0) return;
  withEngine([&](TapEngine& engine) { engine.onSocketCreated(result); });
}

void connected(int fd, int result, const sockaddr* address, socklen_t length) {
  checkTlsInExecutableOnce();
  const int error = errno;  // the real connect's
  bool completed;
  if (result == 0 || error == EISCONN) {
    completed = true;
  } else if (error == EINPROGRESS || error == EALREADY || error == EINTR) {
    // EINTR: the connection attempt goes on asynchronously, as with EINPROGRESS.
    completed = false;
  } else {
    return;
  }
  withEngine([&](TapEngine& engine) { engine.onConnect(fd, address, length, completed); });
}

void accepted(int result) {
  checkTlsInExecutableOnce();
  if (result < 0) return;
  withEngine([&](TapEngine& engine) { engine.onAccepted(result); });
}

void shutDown(int fd, int how, int result) {
  if (result != 0) return;
  withEngine([&](TapEngine& engine) { engine.onShutdown(fd, how); });
}

void replacing(int old_fd, int new_fd) {
  withEngine([&](TapEngine& engine) { engine.onReplacing(old_fd, new_fd); });
}

void duplicated(int old_fd, int result) {
  if (result < 0) return;
  withEngine([&](TapEngine& engine) { engine.onDuplicated(old_fd, result); });
}

void closing(int fd) {
  withEngine([&](TapEngine& engine) {
    engine.onClose(fd);
    reportUnhookedTls(engine);
  });
}

void closingRange(unsigned int first, unsigned int last, int flags) {
  // CLOSE_RANGE_CLOEXEC only marks the fds; a range the kernel rejects
  // closes nothing.
  if ((flags & CLOSE_RANGE_CLOEXEC) || first > last) return;
  withEngine([&](TapEngine& engine) {
    engine.onCloseRange(first, last);
    reportUnhookedTls(engine);
  });
}

void closingFrom(int first) {
  if (first < 0) return;
  withEngine([&](TapEngine& engine) {
    engine.onCloseRange(static_cast<unsigned>(first), UINT_MAX);
    reportUnhookedTls(engine);
  });
}

namespace {

// A vfork child (no fork handler ran: the pid is still the parent's)
// shares the parent's memory: ending connections there would write the
// parent's traces early and stop its tapping.
bool inVforkChild(const TapEngine& engine) { return engine.process().pid != core::os::processId(); }

}  // namespace

void exiting() {
  withEngine([](TapEngine& engine) {
    if (inVforkChild(engine)) return;
    engine.flushAll();
    reportUnhookedTls(engine);
  });
}

void executingAt(const char* path) {
  executing(path != nullptr && path[0] == '/' ? path : nullptr, false);
}

void executing(const char* program, bool search_path) {
  warnIfStaticOnce(program, search_path);
  withEngine([](TapEngine& engine) {
    if (inVforkChild(engine)) return;
    engine.onExec();
    reportUnhookedTls(engine);
  });
}

}  // namespace tapshim::preload::report
