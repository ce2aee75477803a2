// What `tapshim attach` asks a process in standby: the request file it
// leaves in the rendezvous directory, and the environment an attach's
// configuration is parsed from.
//
// The request is text, one `key=value` per line:
//   dir=NAME        the attach's private directory (a plain name inside the
//                   rendezvous directory: never a path the request picks)
//   config=1        an Envoy tap config lies beside it, as NAME.config
//   TAP_MATCH=...   and the limits the attach may set (kAttachVariables)
// Anything else is refused: the request is read by the tapped process,
// which trusts no more of it than it has to.
#pragma once

#include <string>
#include <string_view>

#include "tap_core/config/environment.h"

namespace tapshim::core {

struct AttachRequest {
  std::string dir;
  bool config = false;
  Environment::Entries settings;  // of kAttachVariables only
};

// The TAP_* variables a request may carry.
inline constexpr std::string_view kAttachVariables[] = {
    "TAP_MATCH",        "TAP_MAX_BUFFERED_RX_BYTES",   "TAP_MAX_BUFFERED_TX_BYTES",
    "TAP_DISK_RESERVE", "TAP_MIN_STREAMED_SENT_BYTES", "TAP_CONNECTION_PER_EVENT",
};

// Parses the request; false with one line in *error when it is malformed.
bool parseAttachRequest(std::string_view text, AttachRequest* request, std::string* error);

// The environment an attach's Config is parsed from: the process's own
// TAP_* settings as defaults (its limits, TAP_MATCH, TAP_DISK_RESERVE),
// then the request's, then what the attach fixes: streaming, length-
// delimited binary, a file per trace under `prefix`, and `config_path`'s
// Envoy config when the request has one. The process's TAP_CONFIG,
// TAP_KEYLOG and output settings are not the attach's.
Environment attachEnvironment(const Environment& own, const AttachRequest& request,
                              std::string_view prefix, std::string_view config_path);

}  // namespace tapshim::core
