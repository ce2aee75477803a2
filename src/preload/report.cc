#include "preload/report.h"

#include <linux/close_range.h>

#include <atomic>
#include <cerrno>
#include <climits>

#include "preload/patch/patch_executable.h"
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

void data(int fd, Direction direction, const iovec* iov, size_t count, size_t total,
          uint64_t tls_epoch = TapEngine::kNoTlsEpoch) {
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
  if (!withEngine([&](TapEngine& engine) { engine.onData(fd, direction, slices, tls_epoch); })) {
    // Inside the shim already (a signal handler): the trace shows a gap.
    if (core::TapEngine* active = engine()) active->onUnrecorded(fd, direction);
  }
}

void single(int fd, Direction direction, const void* buffer, size_t total,
            uint64_t tls_epoch = TapEngine::kNoTlsEpoch) {
  iovec slice{const_cast<void*>(buffer), total};
  data(fd, direction, &slice, 1, total, tls_epoch);
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

void sending(CallState& call) {
  if (const TapEngine* active = engine()) call.tls_epoch = active->tlsEpoch();
}

void sent(const CallState& call, int fd, ssize_t result, const void* buffer) {
  if (result <= 0) return;
  single(fd, Direction::kWrite, buffer, static_cast<size_t>(result), call.tls_epoch);
}

void sentVector(const CallState& call, int fd, ssize_t result, const iovec* iov, int iovcnt) {
  if (result <= 0) return;
  data(fd, Direction::kWrite, iov, static_cast<size_t>(iovcnt), static_cast<size_t>(result),
       call.tls_epoch);
}

void sentMessage(const CallState& call, int fd, ssize_t result, const msghdr* message) {
  if (result <= 0 || message == nullptr) return;
  data(fd, Direction::kWrite, message->msg_iov, message->msg_iovlen, static_cast<size_t>(result),
       call.tls_epoch);
}

void sentMessages(const CallState& call, int fd, int result, const mmsghdr* messages) {
  for (int i = 0; i < result; ++i) {
    sentMessage(call, fd, messages[i].msg_len, &messages[i].msg_hdr);
  }
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
  call.tls_entered = true;
  call.tls_outermost = t_tls_depth == 0;
  if (call.tls_outermost) {
    t_tls_session = session;
    if (patch::t_in_executable_copy && t_last_read_fd >= 0) {
      // node's sessions read records from a BIO of node's own, which libuv
      // filled with read(2) just before, on this thread, outside any TLS
      // call: the session consuming them carries that socket.
      const int fd = t_last_read_fd;
      t_last_read_fd = -1;
      withEngine([&](TapEngine& engine) { engine.onTlsSocketReadConsumed(session, fd); });
    }
  }
  ++t_tls_depth;
}

void nssEnter(CallState& call, const void* fd) {
  if (tls::isNssSession(fd)) tlsEnter(call, fd);
}

void tlsLeave(const CallState& call) {
  if (!call.tls_entered) return;
  --t_tls_depth;
  if (call.tls_outermost) t_tls_session = nullptr;
}

namespace {

// The plaintext of the outermost TLS call, once it has left.
void tlsData(const CallState& call, const void* session, Direction direction,
             const IoSlices& slices, TlsLibrary library) {
  tlsLeave(call);
  if (!call.tls_outermost || slices.total() == 0) return;
  withEngine([&](TapEngine& engine) {
    engine.onTlsData(session, direction, slices, tls::sessionFdOf(library),
                     library == TlsLibrary::kOpenSsl ? &tls::openSslReadBio : nullptr);
  });
}

// How many bytes a TLS read or write moved: `result`, or, for OpenSSL's
// _ex forms (`count`), *count when result is 1. 0 for WANT_READ/WANT_WRITE,
// errors and close_notify.
size_t tlsBytes(ssize_t result, const size_t* count) {
  if (count != nullptr) return result == 1 ? *count : 0;
  return result > 0 ? static_cast<size_t>(result) : 0;
}

void tlsBuffer(const CallState& call, const void* session, Direction direction, const void* buffer,
               size_t bytes, TlsLibrary library) {
  iovec slice{const_cast<void*>(buffer), bytes};
  tlsData(call, session, direction, IoSlices(&slice, 1, bytes), library);
}

}  // namespace

void tlsReceived(const CallState& call, const void* session, const void* buffer, ssize_t result,
                 const size_t* count, TlsLibrary library) {
  tlsBuffer(call, session, Direction::kRead, buffer, tlsBytes(result, count), library);
}

void nssReceived(const CallState& call, const void* fd, const void* buffer, int32_t result,
                 int flags) {
  constexpr int kPrMessagePeek = 0x2;  // PR_MSG_PEEK
  tlsBuffer(call, fd, Direction::kRead, buffer,
            (flags & kPrMessagePeek) != 0 ? 0 : tlsBytes(result, nullptr), TlsLibrary::kNss);
}

void tlsSent(const CallState& call, const void* session, const void* buffer, ssize_t result,
             const size_t* count, TlsLibrary library) {
  tlsBuffer(call, session, Direction::kWrite, buffer, tlsBytes(result, count), library);
}

void tlsSentVector(const CallState& call, const void* session, const iovec* iov, int iovcnt,
                   ssize_t result, TlsLibrary library) {
  const size_t bytes = tlsBytes(result, nullptr);
  if (iov == nullptr || iovcnt <= 0) {
    tlsLeave(call);
    return;
  }
  tlsData(call, session, Direction::kWrite, IoSlices(iov, static_cast<size_t>(iovcnt), bytes),
          library);
}

void nssSentVector(const CallState& call, const void* fd, const void* pr_iovec, int32_t count,
                   int32_t result) {
  iovec vector[tls::kNssMaxVector];
  tlsSentVector(call, fd, vector, tls::nssVector(pr_iovec, count, vector), result,
                TlsLibrary::kNss);
}

void nssClosed(const CallState& call, const void* fd) {
  tlsLeave(call);
  if (call.tls_entered) tlsFreed(fd);
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
  withEngineAt(engineIfBuilt(), [](TapEngine& engine) {
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
  // An engine no call built has nothing to write.
  withEngineAt(engineIfBuilt(), [](TapEngine& engine) {
    if (inVforkChild(engine)) return;
    engine.onExec();
    reportUnhookedTls(engine);
  });
}

}  // namespace tapshim::preload::report
