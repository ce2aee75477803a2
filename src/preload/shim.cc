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
#include "preload/startup_arena.h"
#include "preload/unhooked_tls.h"
#include "tap_core/base/clock.h"
#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
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

// A tapping process's engine is built at its first hooked call, not at
// load: a process that makes none (a shell's /bin/true) pays for no
// system call and no page of it. Until then, the configuration read at
// load waits here.
enum class Build : int { kNothing, kPending, kBuilding, kBuilt };
std::atomic<Build> g_build{Build::kNothing};
const core::Config* g_pending_config = nullptr;
// The process the configuration was read in (the atfork child handler
// updates it): a vfork child, which shares the memory, must not build the
// engine its parent will use.
int g_config_pid = 0;
__thread bool t_building __attribute__((tls_model("initial-exec"))) = false;

TAPSHIM_LOAD_TIME const core::TraceEncoder* makeEncoder(core::OutputFormat format) {
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
  const Build build = g_build.load(std::memory_order_relaxed);
  if (build != Build::kNothing) g_config_pid = core::os::processId();
  // A thread of the parent was building the engine: it does not exist
  // here, so the child builds its own.
  if (build == Build::kBuilding) g_build.store(Build::kPending, std::memory_order_relaxed);
  fatal_signals::forgetAfterFork();
  keylog::forgetLocksAfterFork();
  if (g_per_process_sink != nullptr) g_per_process_sink->forgetAfterFork();
  if (g_standby) standby::onForkChild();
  if (core::TapEngine* active = g_engine.load(std::memory_order_acquire)) active->onForkChild();
}

TAPSHIM_LOAD_TIME void initialize() {
  // Another copy of the library loaded before this one taps; this one
  // forwards every call, reads no configuration and says nothing.
  if (anotherCopyLoadedFirst()) return;
  // What is built here lives until the process ends: not on the program's
  // heap, whose first use would cost a program that never mallocs.
  const startup_arena::Scope arena;
  const core::Environment environment = core::Environment::snapshotTapVariables();
  // No TAP_* variable: inert, without reading the parser's constants (a
  // page fault of their own).
  if (!environment.anyTapVariable()) return;
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
  // Lives until the process ends, like the engine built from it.
  g_pending_config = new core::Config(std::move(parsed.config));
  keylog::configure(g_pending_config->keylog_path.c_str());
  g_config_pid = core::os::processId();
  pthread_atfork(nullptr, &forkParent, &forkChild);
  g_build.store(Build::kPending, std::memory_order_release);
}

// The engine from the configuration read at load. From the first hooked
// call, which may be in a signal handler: its memory comes from the
// start-up arena, not malloc, and it takes no lock a handler could hold.
// The fatal-signal handlers go in later still, with the first tapped
// connection (withEngine).
core::TapEngine* buildEngine() {
  const core::Config& config = *g_pending_config;
  const startup_arena::Scope arena;
  // These live until the process ends: traces are still written at exit,
  // after static destructors may have run.
  auto* ids = new core::TraceIds();
  auto* clock = new core::WallClock();
  core::Sink* sink = nullptr;
  const core::DiskReserve::Setting reserve{config.disk_reserve_bytes, config.disk_reserve_percent};
  if (config.sink == core::SinkKind::kFilePerProcess) {
    g_per_process_sink = new core::FilePerProcessSink(config.path_prefix, *ids, *clock, reserve);
    sink = g_per_process_sink;
  } else {
    sink = new core::FilePerTapSink(config.path_prefix, *ids, *clock, reserve);
  }
  const core::TraceEncoder* encoder = makeEncoder(config.format);
  auto* probe = new core::KernelSocketProbe();
  return new core::TapEngine(config, *clock, *sink, *encoder, *probe, *ids);
}

// Builds the engine once; a thread that finds another building it waits,
// unless it is that thread itself (a signal handler's hooked call), whose
// call is forwarded untapped. So is a vfork child's.
core::TapEngine* buildEngineOnce() {
  if (t_building) return nullptr;
  ErrnoKeeper keep;
  if (core::os::processId() != g_config_pid) return nullptr;
  Build expected = Build::kPending;
  if (g_build.compare_exchange_strong(expected, Build::kBuilding, std::memory_order_acq_rel)) {
    t_building = true;
    core::TapEngine* active = buildEngine();
    t_building = false;
    g_engine.store(active, std::memory_order_release);
    g_build.store(Build::kBuilt, std::memory_order_release);
    return active;
  }
  while (g_build.load(std::memory_order_acquire) == Build::kBuilding) sched_yield();
  return g_engine.load(std::memory_order_acquire);
}

// The first caller reads the configuration; one that comes meanwhile, on
// another thread, waits for it.
TAPSHIM_LOAD_TIME void initializeOnce() {
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

__attribute__((constructor)) void initializeAtLoad() {
  // Not engine(): a standby process looks for an attach from its first
  // hooked call on, not at load.
  if (!g_initialized.load(std::memory_order_acquire)) initializeOnce();
  if (g_patch_executable) patch::patchExecutableOnce();
}

__attribute__((destructor)) void flushAtExit() {
  if (g_standby) standby::stopLooking();
  // Built by a hooked call, or nothing to flush (and not built for it).
  withEngineAt(engineIfBuilt(), [](core::TapEngine& active) {
    active.flushAll();
    reportUnhookedTls(active);
  });
}

}  // namespace

TAPSHIM_LOAD_TIME core::TapEngine* engine() {
  if (!g_initialized.load(std::memory_order_acquire)) {
    if (t_initializing) return nullptr;
    initializeOnce();
  }
  if (g_standby) [[unlikely]]
    standby::poll();
  core::TapEngine* active = g_engine.load(std::memory_order_acquire);
  if (active == nullptr && g_build.load(std::memory_order_acquire) != Build::kNothing) [[unlikely]]
    return buildEngineOnce();
  return active;
}

core::TapEngine* engineIfBuilt() { return g_engine.load(std::memory_order_acquire); }

bool tappingConfigured() {
  return engineIfBuilt() != nullptr || g_build.load(std::memory_order_acquire) != Build::kNothing;
}

void publishEngine(core::TapEngine* engine) { g_engine.store(engine, std::memory_order_release); }

}  // namespace tapshim::preload
