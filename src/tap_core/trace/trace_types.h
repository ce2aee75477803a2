// src/tap_core/trace/: what a trace is made of, independent of how it is
// recorded, encoded or stored: addresses and connections, the bytes of one
// I/O call (this file), the event log a trace's events are kept in
// (event_log.h) and trace ids unique across processes (trace_ids.h). Uses
// base/ only; the tapper, the encoders and the sinks all speak it.
//
// Plain values that make up a socket trace, independent of any encoding.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tapshim::core {

enum class Direction : uint8_t { kRead = 0, kWrite = 1 };

// An endpoint as Envoy writes it: socket_address{address, port_value} for
// IP, pipe{path} for a unix socket (abstract names as "@name").
struct Address {
  enum class Kind : uint8_t { kUnknown, kIp, kPipe };
  static constexpr size_t kMaxText = 110;  // a unix path, or an IPv6 text

  Kind kind = Kind::kUnknown;
  uint8_t text_length = 0;
  uint16_t port = 0;
  char text[kMaxText] = {};

  std::string_view textView() const { return {text, text_length}; }
  bool known() const { return kind != Kind::kUnknown; }
  bool sameAs(const Address& other) const {
    return kind == other.kind && port == other.port && textView() == other.textView();
  }
  static Address ip(std::string_view text, uint16_t port);
  static Address pipe(std::string_view path);
};

struct ConnectionInfo {
  // Which side opened the connection (tapshim extension, binary formats).
  enum class Origin : uint8_t { kUnknown = 0, kOutbound = 1, kInbound = 2 };

  Address local;
  Address remote;
  Origin origin = Origin::kUnknown;
  // Its bytes began as TLS that no hooked TLS call decrypted: the events
  // are TLS records (tapshim extension, binary formats).
  bool undecrypted_tls = false;
  // Tapping began with the connection already open (an attach): its trace
  // starts mid-stream, without the handshake (tapshim extension, binary
  // formats).
  bool joined_late = false;
};

// Who wrote a trace: a tapshim extension, in binary formats only.
struct ProcessInfo {
  int pid = 0;
  char name[16] = {};
};

// The bytes of one I/O call: in the program's memory, possibly scattered
// (readv, recvmsg, ...), or in a file the kernel sent from (sendfile).
// Only the first `total` bytes count: the call's result.
class IoSlices {
 public:
  IoSlices(const iovec* iov, size_t count, size_t total)
      : iov_(iov), count_(count), total_(total) {}
  // `total` bytes that sendfile moved from `fd` at `offset`; they are read
  // back with pread, and only as far as the tapper keeps them.
  static IoSlices fromFile(int fd, int64_t offset, size_t total);

  size_t total() const { return total_; }
  // The first `n` bytes as one piece of the program's memory, or nullptr
  // when they are scattered or in a file.
  const uint8_t* contiguous(size_t n) const {
    if (n == 0) return reinterpret_cast<const uint8_t*>("");
    if (file_fd_ >= 0 || count_ == 0 || iov_[0].iov_len < n) return nullptr;
    return static_cast<const uint8_t*>(iov_[0].iov_base);
  }
  // Copies the first min(n, total) bytes to `out` and returns how many it
  // copied: fewer only when a file no longer holds them.
  size_t copyPrefix(uint8_t* out, size_t n) const;

 private:
  const iovec* iov_ = nullptr;
  size_t count_ = 0;
  size_t total_ = 0;
  int file_fd_ = -1;
  int64_t file_offset_ = 0;
};

}  // namespace tapshim::core
