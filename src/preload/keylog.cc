#include "preload/keylog.h"

#include <fcntl.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "preload/real_functions.h"
#include "preload/shim.h"
#include "tap_core/base/diagnostics.h"
#include "tap_core/base/load_time.h"
#include "tap_core/base/lock.h"
#include "tap_core/base/os.h"

namespace tapshim::preload::keylog {
namespace {

constexpr size_t kPathMax = 4096;
TAPSHIM_LARGE_TABLE char g_path[kPathMax] = {};
// g_path is set: a small variable, so that asking (at every SSL_CTX_new,
// in every fork child) touches no page of the path's.
bool g_enabled = false;

// The program's own callback per SSL_CTX (function per GnuTLS session,
// callback and its argument per mbedTLS configuration): a small
// open-addressed table, cleared for an object when it is created (so an
// address reused by a new object never inherits a stale callback).
class Chain {
 public:
  struct Callback {
    void* function = nullptr;
    void* argument = nullptr;
  };
  void set(const void* owner, Callback callback) {
    core::LockGuard lock(mutex_);
    Entry* entry = slot(owner, /*create=*/true);
    if (entry != nullptr) entry->callback = callback;
  }
  void set(const void* owner, void* function) { set(owner, Callback{function, nullptr}); }
  // An object created at `owner`: a callback remembered for an earlier one
  // there is stale.
  void forget(const void* owner) {
    core::LockGuard lock(mutex_);
    if (Entry* entry = slot(owner, /*create=*/false)) entry->callback = Callback{};
  }
  Callback get(const void* owner) {
    core::LockGuard lock(mutex_);
    Entry* entry = slot(owner, /*create=*/false);
    return entry != nullptr ? entry->callback : Callback{};
  }
  // In a forked child: another thread of the parent may have held the lock.
  void unlockAfterFork() { mutex_.reinitialize(); }

 private:
  static constexpr size_t kEntries = 4096;
  struct Entry {
    const void* owner;
    Callback callback;
  };
  Entry* slot(const void* owner, bool create) {
    const auto bits = reinterpret_cast<uintptr_t>(owner);
    for (size_t probe = 0; probe < kEntries; ++probe) {
      Entry& entry = entries_[(bits / 16 + probe) % kEntries];
      if (entry.owner == owner) return &entry;
      if (entry.owner == nullptr) {
        if (!create) return nullptr;
        entry.owner = owner;
        entry.callback = Callback{};
        return &entry;
      }
    }
    return nullptr;  // full: the program's callback is not chained (said once)
  }
  core::Mutex mutex_;
  Entry entries_[kEntries] = {};
};

TAPSHIM_LARGE_TABLE Chain g_openssl;
TAPSHIM_LARGE_TABLE Chain g_gnutls;
TAPSHIM_LARGE_TABLE Chain g_mbedtls;

// Opened, written and closed for each line: a handshake writes a handful
// of lines, and an fd kept open would be one the program can close and
// reuse (a daemon closing every fd, then opening a socket at that number)
// without the shim knowing, sending TLS secrets wherever it points.
void appendLine(const char* text, size_t length) {
  const long fd =
      core::os::openFile(g_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    core::reportOnce(core::Problem::kTraceFileCreate, {"cannot open the key log ", g_path, ": ",
                                                       core::os::errorText(static_cast<int>(-fd))});
    return;
  }
  // A line past RLIMIT_FSIZE would get the program SIGXFSZ: it is left
  // out instead (a handful of lines per handshake: asked each time).
  uint64_t limit = UINT64_MAX, size = 0;
  if (core::os::fileSizeLimit(&limit) == 0 && limit != UINT64_MAX &&
      (core::os::fileSize(static_cast<int>(fd), &size) != 0 || size + length > limit)) {
    core::reportOnce(core::Problem::kKeyLogSizeLimit,
                     {"the key log ", g_path,
                      " reached the file size limit (RLIMIT_FSIZE): its later lines are lost"});
  } else {
    // One write per line: O_APPEND makes each line land whole.
    core::os::writeSome(static_cast<int>(fd), text, length);
  }
  core::os::closeFd(static_cast<int>(fd));
}

bool sessionTapped(const void* session) {
  core::TapEngine* active = engine();
  return active != nullptr && active->tlsSessionTapped(session);
}

// OpenSSL's callback: void (*)(const SSL*, const char* line).
void openSslLine(const void* ssl, const char* line) {
  if (sessionTapped(ssl)) {
    char buffer[1024];
    const size_t length = strnlen(line, sizeof(buffer) - 1);
    std::memcpy(buffer, line, length);
    buffer[length] = '\n';
    appendLine(buffer, length + 1);
  }
  static real::LibraryFunction<void* (*)(const void*)> get_context("SSL_get_SSL_CTX");
  const auto context_of = get_context.get();
  if (context_of == nullptr) return;
  using Callback = void (*)(const void*, const char*);
  if (auto program = reinterpret_cast<Callback>(g_openssl.get(context_of(ssl)).function)) {
    program(ssl, line);
  }
}

struct Datum {
  unsigned char* data;
  unsigned int size;
};

void hex(const unsigned char* bytes, size_t size, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
}

// One key log line: `label`, the 32-byte client random and the secret, in
// hex.
void appendSecret(const char* label, const unsigned char* client_random,
                  const unsigned char* secret, size_t secret_size) {
  constexpr size_t kRandomSize = 32;
  constexpr size_t kMaxSecret = 64;
  if (secret_size > kMaxSecret) return;
  char line[64 + 1 + 2 * kRandomSize + 1 + 2 * kMaxSecret + 1];
  const size_t label_length = strnlen(label, 64);
  size_t n = 0;
  std::memcpy(line, label, label_length);
  n += label_length;
  line[n++] = ' ';
  hex(client_random, kRandomSize, line + n);
  n += 2 * kRandomSize;
  line[n++] = ' ';
  hex(secret, secret_size, line + n);
  n += 2 * secret_size;
  line[n++] = '\n';
  appendLine(line, n);
}

// GnuTLS's function: int (*)(gnutls_session_t, const char* label,
// const gnutls_datum_t* secret).
int gnutlsSecret(void* session, const char* label, const Datum* secret) {
  if (sessionTapped(session) && secret != nullptr) {
    static real::LibraryFunction<void (*)(void*, Datum*, Datum*)> get_random(
        "gnutls_session_get_random");
    Datum client{}, server{};
    if (const auto randoms_of = get_random.get()) randoms_of(session, &client, &server);
    if (client.size == 32) appendSecret(label, client.data, secret->data, secret->size);
  }
  using Function = int (*)(void*, const char*, const Datum*);
  if (auto program = reinterpret_cast<Function>(g_gnutls.get(session).function)) {
    return program(session, label, secret);
  }
  return 0;
}

// mbedTLS 2.x's f_export_keys_ext, called inside the handshake (a hooked
// call on this thread, so t_tls_session names the session): a TLS 1.2
// master secret, written as NSS's CLIENT_RANDOM line. `conf` is the
// argument the shim registered it with.
int mbedTlsKeys(void* conf, const unsigned char* master_secret, const unsigned char* key_block,
                size_t mac_length, size_t key_length, size_t iv_length,
                const unsigned char* client_random, const unsigned char* server_random,
                int prf_type) {
  constexpr size_t kMasterSecretSize = 48;
  if (sessionTapped(t_tls_session) && master_secret != nullptr && client_random != nullptr) {
    appendSecret("CLIENT_RANDOM", client_random, master_secret, kMasterSecretSize);
  }
  using Function = int (*)(void*, const unsigned char*, const unsigned char*, size_t, size_t,
                           size_t, const unsigned char*, const unsigned char*, int);
  const Chain::Callback program = g_mbedtls.get(conf);
  if (auto function = reinterpret_cast<Function>(program.function)) {
    return function(program.argument, master_secret, key_block, mac_length, key_length, iv_length,
                    client_random, server_random, prf_type);
  }
  return 0;
}

}  // namespace

TAPSHIM_LOAD_TIME void configure(const char* path) {
  if (path == nullptr || path[0] == '\0' || strlen(path) >= kPathMax) return;
  std::memcpy(g_path, path, strlen(path) + 1);
  g_enabled = true;
}

bool enabled() { return g_enabled; }

void forgetLocksAfterFork() {
  if (!enabled()) return;  // the chains are untouched
  g_openssl.unlockAfterFork();
  g_gnutls.unlockAfterFork();
  g_mbedtls.unlockAfterFork();
}

void onOpenSslContext(void* context) {
  if (!enabled() || context == nullptr) return;
  g_openssl.set(context, nullptr);
  using Set = void (*)(void*, void*);
  auto set = reinterpret_cast<Set>(real::SSL_CTX_set_keylog_callback());
  if (set != nullptr) set(context, reinterpret_cast<void*>(&openSslLine));
}

void* onOpenSslCallbackSet(void* context, void* callback) {
  if (!enabled()) return callback;
  g_openssl.set(context, callback);
  return reinterpret_cast<void*>(&openSslLine);
}

void onGnutlsSession(void* session) {
  if (!enabled() || session == nullptr) return;
  static real::LibraryFunction<void* (*)(void*)> get_function("gnutls_session_get_keylog_function");
  const auto function_of = get_function.get();
  // GnuTLS's own default (SSLKEYLOGFILE) keeps working behind the shim's.
  g_gnutls.set(session, function_of != nullptr ? function_of(session) : nullptr);
  using Set = void (*)(void*, void*);
  auto set = reinterpret_cast<Set>(real::gnutls_session_set_keylog_function());
  if (set != nullptr) set(session, reinterpret_cast<void*>(&gnutlsSecret));
}

void* onGnutlsFunctionSet(void* session, void* function) {
  if (!enabled()) return function;
  g_gnutls.set(session, function);
  return reinterpret_cast<void*>(&gnutlsSecret);
}

void onMbedTlsConfigInit(void* conf) {
  if (enabled() && conf != nullptr) g_mbedtls.forget(conf);
}

void onMbedTlsSetup(const void* conf) {
  if (!enabled() || conf == nullptr) return;
  // Set at every session's setup: cheap, and a configuration the program
  // initialised before the shim could see it gets the callback too.
  using Set = void (*)(const void*, void*, const void*);
  auto set = reinterpret_cast<Set>(real::mbedtls_ssl_conf_export_keys_ext_cb());
  if (set != nullptr) set(conf, reinterpret_cast<void*>(&mbedTlsKeys), conf);
}

void onMbedTlsCallbackSet(void* conf, void** callback, void** argument) {
  if (!enabled()) return;
  g_mbedtls.set(conf, Chain::Callback{*callback, *argument});
  *callback = reinterpret_cast<void*>(&mbedTlsKeys);
  *argument = conf;
}

}  // namespace tapshim::preload::keylog
