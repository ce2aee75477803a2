#include "preload/shim.h"

#include <pthread.h>
#include <sched.h>
#include <sys/auxv.h>

#include <atomic>

#include "preload/go_program.h"
#include "preload/keylog.h"
#include "preload/other_copies.h"
#include "preload/patch/patch_executable.h"
#include "preload/standby.h"
#include "preload/unhooked_tls.h"
#include "tap_core/base/clock.h"
#include "tap_core/base/diagnostics.h"
#include "tap_core/base/os.h"
#include "tap_core/config/config.h"
#include "tap_core/config/environment.h"
#include "tap_core/encoder/json_encoder.h"
#include "tap_core/encoder/proto_binary_encoder.h"
#include "tap_core/encoder/proto_text_encoder.h"
#include "tap_core/engine/socket_probe.h"
#include "tap_core/sink/file_per_process_sink.h"
#include "tap_core/sink/file_per_tap_sink.h"
#include "tap_core/trace/trace_ids.h"

namespace tapshim::preload {

__thread bool t_inside_shim = false;
__thread const void* t_tls_session = nullptr;
__thread int t_tls_depth = 0;

namespace {

// Set on the thread that reads the configuration. A hook it reaches while
// doing so (a malloc such as jemalloc reads /proc with read(2) on its
// first call) must forward the call, not wait for the initialisation it
// is part of.
__thread bool t_initializing __attribute__((tls_model("initial-exec"))) = false;

// 0: not started; 1: a thread initialises; 2: done (g_initialized). Not
// pthread_once: glibc's wakes waiters with a futex call even when none
// wait, a system call in every process the library is preloaded into.
std::atomic<int> g_init_state{0};
std::atomic<core::TapEngine*> g_engine{nullptr};
std::atomic<bool> g_initialized{false};
// Standby (TAP_STANDBY, admin_config): hooked calls look for an attach.
// Set once, before g_initialized.
bool g_standby = false;
// TAP_PATCH (on unless 0) in a tapped process: the constructor detours the
// executable's own TLS functions (patch/patch_executable.h).
bool g_patch_executable = false;
// Set with TAP_SINK=file_per_process: a forked child must start a file of
// its own.
core::FilePerProcessSink* g_per_process_sink = nullptr;

const core::TraceEncoder* makeEncoder(core::OutputFormat format) {
  switch (format) {
    case core::OutputFormat::kJsonBodyAsBytes:
      return new core::JsonEncoder(/*body_as_string=*/false);
    case core::OutputFormat::kJsonBodyAsString:
      return new core::JsonEncoder(/*body_as_string=*/true);
    case core::OutputFormat::kProtoBinaryLengthDelimited:
      return new core::ProtoBinaryEncoder(/*length_delimited=*/true);
    case core::OutputFormat::kProtoText:
      return new core::ProtoTextEncoder();
    case core::OutputFormat::kProtoBinary:
      break;
  }
  return new core::ProtoBinaryEncoder();
}

void forkParent() {
  if (core::TapEngine* active = g_engine.load(std::memory_order_acquire)) active->onForkParent();
}

void forkChild() {
  fatal_signals::forgetAfterFork();
  if (g_per_process_sink != nullptr) g_per_process_sink->forgetAfterFork();
  if (g_standby) standby::onForkChild();
  if (core::TapEngine* active = g_engine.load(std::memory_order_acquire)) active->onForkChild();
}

void initialize() {
  // Another copy of the library loaded before this one taps; this one
  // forwards every call, reads no configuration and says nothing.
  if (anotherCopyLoadedFirst()) return;
  const core::Environment environment = core::Environment::snapshotTapVariables();
  core::ConfigResult parsed = core::parseConfig(environment);
  if (!parsed.error.empty()) {
    core::reportOnce(core::Problem::kConfiguration, {parsed.error});
    return;
  }
  if (!parsed.config.enabled) return;
  if (getauxval(AT_SECURE) != 0) {
    // Traces hold secrets: a set-uid program's traffic is not for its caller.
    core::reportOnce(core::Problem::kSecureExecution,
                     {"set-uid, set-gid or file-capability program: not tapping"});
    return;
  }
  // Detoured in the constructor, before main and its threads; in standby
  // too, so that an attach later sees node's plaintext.
  g_patch_executable = parsed.config.patch;
  if (parsed.config.standby) {
    // Nothing more until an attach: no file, no handler, no key log.
    standby::begin(environment);
    pthread_atfork(nullptr, &forkParent, &forkChild);
    g_standby = true;
    return;
  }
  if (executableIsGo()) {
    // Tapping stays on: C code in the program (cgo) calls libc.
    char name[16];
    core::os::processName(name);
    core::reportOnce(core::Problem::kGoProgram,
                     {name,
                      " is a Go program: its network calls are Go's own system calls, "
                      "which bypass libc, so they cannot be tapped"});
  }
  // These live until the process ends: traces are still written at exit,
  // after static destructors may have run.
  auto* config = new core::Config(std::move(parsed.config));
  auto* ids = new core::TraceIds();
  auto* clock = new core::WallClock();
  core::Sink* sink = nullptr;
  const core::DiskReserve::Setting reserve{config->disk_reserve_bytes,
                                           config->disk_reserve_percent};
  if (config->sink == core::SinkKind::kFilePerProcess) {
    g_per_process_sink = new core::FilePerProcessSink(config->path_prefix, *ids, *clock, reserve);
    sink = g_per_process_sink;
  } else {
    sink = new core::FilePerTapSink(config->path_prefix, *ids, *clock, reserve);
  }
  const core::TraceEncoder* encoder = makeEncoder(config->format);
  auto* probe = new core::KernelSocketProbe();
  auto* active = new core::TapEngine(*config, *clock, *sink, *encoder, *probe, *ids);
  keylog::configure(config->keylog_path.c_str());
  pthread_atfork(nullptr, &forkParent, &forkChild);
  g_engine.store(active, std::memory_order_release);
  // The fatal-signal handlers go in with the first tapped connection
  // (withEngine): a process that never taps one pays no system call.
}

__attribute__((constructor)) void initializeAtLoad() {
  engine();
  if (g_patch_executable) patch::patchExecutableOnce();
}

__attribute__((destructor)) void flushAtExit() {
  withEngine([](core::TapEngine& active) {
    active.flushAll();
    reportUnhookedTls(active);
  });
}

}  // namespace

core::TapEngine* engine() {
  if (!g_initialized.load(std::memory_order_acquire)) {
    if (t_initializing) return nullptr;
    ErrnoKeeper keep;
    int expected = 0;
    if (g_init_state.compare_exchange_strong(expected, 1)) {
      t_initializing = true;
      initialize();
      t_initializing = false;
      g_initialized.store(true, std::memory_order_release);
      g_init_state.store(2, std::memory_order_release);
    } else {
      while (!g_initialized.load(std::memory_order_acquire)) sched_yield();
    }
  }
  if (g_standby) [[unlikely]]
    standby::poll();
  return g_engine.load(std::memory_order_acquire);
}

void publishEngine(core::TapEngine* engine) { g_engine.store(engine, std::memory_order_release); }

}  // namespace tapshim::preload
