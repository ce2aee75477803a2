// Where a live capture goes (tap2pcap --follow): a file, a FIFO, or "-"
// for stdout, written as it is made. Unlike OutputFile (a whole
// conversion, renamed into place at the end), a reader such as
// `tshark -i -` or `wireshark -k -i FIFO` reads it while it grows, so it is
// written in place and flushed after every look at the traces. A file is
// created (or emptied) mode 0600: captures of TLS plaintext are secrets.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>

#include "absl/status/statusor.h"

namespace tapshim::tap2pcap {

class LiveOutput {
 public:
  // Opens `path` ("-": stdout). A FIFO without a reader is waited for,
  // looking every 50 ms, until `stop_fd` (a signalfd) is readable or the
  // deadline passes: then kCancelled (nothing to write, nobody to read).
  static absl::StatusOr<std::unique_ptr<LiveOutput>> open(
      const std::string& path, int stop_fd,
      std::optional<std::chrono::steady_clock::time_point> deadline);
  ~LiveOutput();

  std::ostream& stream() { return stream_; }

  // Writes what is buffered (whole pcapng blocks: the writer hands over a
  // block at a time).
  // @return OK; kCancelled when the reader has gone (a pipe or FIFO closed
  //         by its reader: the capture ends quietly, as tcpdump's does); or
  //         an error naming the output.
  absl::Status flush();

 private:
  class FdBuffer : public std::streambuf {
   public:
    explicit FdBuffer(int fd);
    int error() const { return error_; }
    // Writes everything buffered; false on failure (see error()).
    bool drain();

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* data, std::streamsize size) override;
    int sync() override { return drain() ? 0 : -1; }

   private:
    bool writeAll(const char* data, size_t size);
    const int fd_;
    std::string buffer_;
    int error_ = 0;
  };

  LiveOutput(std::string path, int fd, bool owned);

  const std::string path_;
  const int fd_;
  const bool owned_;
  FdBuffer buffer_;
  std::ostream stream_;
};

}  // namespace tapshim::tap2pcap
