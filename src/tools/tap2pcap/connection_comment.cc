#include "tools/tap2pcap/connection_comment.h"

#include "absl/strings/str_cat.h"

namespace tapshim::tap2pcap {

std::string connectionComment(const TraceSummary& trace, const std::string& input_path,
                              const ConversationEndpoints& endpoints, bool live) {
  std::string comment =
      absl::StrCat("tap trace ", trace.trace_id, " from ", input_path,
                   trace.streamed ? " (streamed" : " (buffered", live ? ", followed live)" : ")");
  if (trace.pid || !trace.process_name.empty()) {
    absl::StrAppend(&comment, "; process ", trace.process_name.empty() ? "?" : trace.process_name);
    if (trace.pid) absl::StrAppend(&comment, " pid ", *trace.pid);
  }
  absl::StrAppend(&comment, "; local ", describeAddress(trace.local), ", remote ",
                  describeAddress(trace.remote));
  if (!live) {
    absl::StrAppend(&comment, "; ", trace.events, " events, ", trace.read_bytes, " bytes read, ",
                    trace.write_bytes, " bytes written");
    if (!trace.has_time) absl::StrAppend(&comment, "; no timestamps: shown at the file's time");
  }
  if (trace.joined_late) {
    absl::StrAppend(&comment,
                    "; joined late: tapping began with the connection already open, so no "
                    "handshake is shown and the bytes before are not in the capture");
  }
  if (trace.undecrypted_tls) {
    absl::StrAppend(&comment,
                    "; TLS NOT DECRYPTED: the payload is TLS records, done by a TLS library "
                    "tapshim does not hook");
  }
  if (!live && (trace.read_truncated || trace.write_truncated || trace.truncated_events > 0)) {
    absl::StrAppend(&comment, "; TRUNCATED:");
    if (trace.read_truncated) absl::StrAppend(&comment, " reads");
    if (trace.read_truncated && trace.write_truncated) absl::StrAppend(&comment, " and");
    if (trace.write_truncated) absl::StrAppend(&comment, " writes");
    absl::StrAppend(&comment, " cut by the tap's limits (", trace.truncated_events,
                    " events marked); the capture holds recorded bytes only");
  }
  if (!endpoints.note.empty()) absl::StrAppend(&comment, "; ", endpoints.note);
  return comment;
}

}  // namespace tapshim::tap2pcap
