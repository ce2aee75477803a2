// Which connection a TLS session (an OpenSSL SSL* or a gnutls_session_t)
// carries: filled when the TLS library does socket I/O inside one of its
// calls, or when the program names the fd (SSL_set_fd,
// gnutls_transport_set_int2/_ptr). A session whose connection cannot be
// found (memory BIOs) owns a connection of its own, with unknown
// addresses, that is not in the fd table.
//
// Sessions are spread over striped locks: no global lock per TLS call.
#pragma once

#include <cstdint>

#include "tap_core/base/block_allocator.h"
#include "tap_core/base/lock.h"

namespace tapshim::core {

class TappedConnection;

class TlsSessions {
 public:
  struct Binding {
    TappedConnection* connection = nullptr;
    uint64_t incarnation = 0;  // the connection's, when bound
    bool owned = false;        // a connection of the session's own
    bool excluded = false;     // its connection is not tapped (TAP_MATCH)
  };

  // The session's binding; false when it has none.
  bool find(const void* session, Binding* binding);
  // Sets (or replaces) the session's binding; false when memory is short.
  bool bind(const void* session, const Binding& binding);
  // Forgets the session; returns its binding (to end an owned connection).
  bool remove(const void* session, Binding* binding);
  // Empties the table, calling visit(binding) for every session it held
  // (at exit), with no lock held.
  template <typename Visitor>
  void drain(Visitor&& visit) {
    for (Stripe& stripe : stripes_) {
      Entry* entries;
      {
        LockGuard lock(stripe.mutex);
        entries = stripe.head;
        stripe.head = nullptr;
      }
      for (Entry* entry = entries; entry != nullptr; entry = entry->next) visit(entry->binding);
    }
  }
  // In a forked child: forget everything (the parent's entries stay
  // untouched in memory).
  void forgetAfterFork();

 private:
  static constexpr size_t kStripes = 64;
  struct Entry {
    const void* session;
    Binding binding;
    Entry* next;
  };
  struct Stripe {
    Mutex mutex;
    Entry* head = nullptr;
  };
  Stripe& stripeFor(const void* session) {
    const auto bits = reinterpret_cast<uintptr_t>(session);
    return stripes_[(bits >> 4 ^ bits >> 12) % kStripes];
  }

  Stripe stripes_[kStripes];
};

}  // namespace tapshim::core
