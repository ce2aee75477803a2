// Standby: a process started with TAP_STANDBY=1 (or TAP_CONFIG's
// admin_config) records nothing and creates no file until `tapshim attach`
// asks. No thread of the shim's waits for the request: the hooked calls
// look for it, through engine(), at most once per 100 ms each (a coarse
// clock read per call, one system call per check). Attached, the same
// checks watch the attacher's lock on its request; when it is gone (the
// attach ended, or the attacher died, even by SIGKILL) every trace the
// attach started ends and the process is in standby again.
//
// The rendezvous (rendezvous.h) and the request (tap_core/config/
// attach_request.h) are described in docs/live.md.
#pragma once

#include "tap_core/config/environment.h"

namespace tapshim::preload::standby {

// Starts standby; `environment` (the process's TAP_* settings and
// XDG_RUNTIME_DIR) gives an attach its defaults and the rendezvous.
void begin(const core::Environment& environment);

// Called by engine() at every hooked call of a standby process: the
// check, when one is due. May publish or withdraw an attach's engine
// (publishEngine in shim.h).
void poll();

// At exit: no more checks (an attach found now would have nothing to
// record). An attach already made still ends its traces.
void stopLooking();

// In a forked child: its own pid, so its own request. A child of an
// attached process stays attached while the attacher holds its lock.
void onForkChild();

}  // namespace tapshim::preload::standby
