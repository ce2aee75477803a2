#include "preload/keylog.h"

#include <fcntl.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "preload/real_functions.h"
#include "preload/shim.h"
#include "tap_core/base/diagnostics.h"
#include "tap_core/base/lock.h"
#include "tap_core/base/os.h"

namespace tapshim::preload::keylog {
namespace {

constexpr size_t kPathMax = 4096;
char g_path[kPathMax] = {};

// The program's own callback per SSL_CTX (or function per GnuTLS session):
// a small open-addressed table, cleared for an object when it is created
// (so an address reused by a new object never inherits a stale callback).
class Chain {
 public:
  void set(const void* owner, void* callback) {
    core::LockGuard lock(mutex_);
    Entry* entry = slot(owner, /*create=*/true);
    if (entry != nullptr) entry->callback = callback;
  }
  void* get(const void* owner) {
    core::LockGuard lock(mutex_);
    Entry* entry = slot(owner, /*create=*/false);
    return entry != nullptr ? entry->callback : nullptr;
  }

 private:
  static constexpr size_t kEntries = 4096;
  struct Entry {
    const void* owner;
    void* callback;
  };
  Entry* slot(const void* owner, bool create) {
    const auto bits = reinterpret_cast<uintptr_t>(owner);
    for (size_t probe = 0; probe < kEntries; ++probe) {
      Entry& entry = entries_[(bits / 16 + probe) % kEntries];
      if (entry.owner == owner) return &entry;
      if (entry.owner == nullptr) {
        if (!create) return nullptr;
        entry.owner = owner;
        entry.callback = nullptr;
        return &entry;
      }
    }
    return nullptr;  // full: the program's callback is not chained (said once)
  }
  core::Mutex mutex_;
  Entry entries_[kEntries] = {};
};

Chain g_openssl;
Chain g_gnutls;

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
  // One write per line: O_APPEND makes each line land whole.
  core::os::writeSome(static_cast<int>(fd), text, length);
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
  using GetContext = void* (*)(const void*);
  static std::atomic<GetContext> get_context{nullptr};
  GetContext next = get_context.load(std::memory_order_acquire);
  if (next == nullptr) {
    next = reinterpret_cast<GetContext>(real::findSymbol("SSL_get_SSL_CTX"));
    get_context.store(next, std::memory_order_release);
  }
  if (next == nullptr) return;
  using Callback = void (*)(const void*, const char*);
  if (auto program = reinterpret_cast<Callback>(g_openssl.get(next(ssl)))) program(ssl, line);
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

// GnuTLS's function: int (*)(gnutls_session_t, const char* label,
// const gnutls_datum_t* secret).
int gnutlsSecret(void* session, const char* label, const Datum* secret) {
  if (sessionTapped(session) && secret != nullptr) {
    using GetRandom = void (*)(void*, Datum*, Datum*);
    auto get_random = reinterpret_cast<GetRandom>(real::findSymbol("gnutls_session_get_random"));
    Datum client{}, server{};
    if (get_random != nullptr) get_random(session, &client, &server);
    char line[1024];
    const size_t label_length = strnlen(label, 64);
    if (client.size == 32 && secret->size <= 64) {
      size_t n = 0;
      std::memcpy(line, label, label_length);
      n += label_length;
      line[n++] = ' ';
      hex(client.data, client.size, line + n);
      n += 2 * client.size;
      line[n++] = ' ';
      hex(secret->data, secret->size, line + n);
      n += 2 * secret->size;
      line[n++] = '\n';
      appendLine(line, n);
    }
  }
  using Function = int (*)(void*, const char*, const Datum*);
  if (auto program = reinterpret_cast<Function>(g_gnutls.get(session))) {
    return program(session, label, secret);
  }
  return 0;
}

}  // namespace

void configure(const char* path) {
  if (path == nullptr || path[0] == '\0' || strlen(path) >= kPathMax) return;
  std::memcpy(g_path, path, strlen(path) + 1);
}

bool enabled() { return g_path[0] != '\0'; }

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
  using Get = void* (*)(void*);
  auto get = reinterpret_cast<Get>(real::findSymbol("gnutls_session_get_keylog_function"));
  // GnuTLS's own default (SSLKEYLOGFILE) keeps working behind the shim's.
  g_gnutls.set(session, get != nullptr ? get(session) : nullptr);
  using Set = void (*)(void*, void*);
  auto set = reinterpret_cast<Set>(real::gnutls_session_set_keylog_function());
  if (set != nullptr) set(session, reinterpret_cast<void*>(&gnutlsSecret));
}

void* onGnutlsFunctionSet(void* session, void* function) {
  if (!enabled()) return function;
  g_gnutls.set(session, function);
  return reinterpret_cast<void*>(&gnutlsSecret);
}

}  // namespace tapshim::preload::keylog
