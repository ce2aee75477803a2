#include "tap_core/engine/tls_sessions.h"

#include <new>

namespace tapshim::core {

bool TlsSessions::find(const void* session, Binding* binding) {
  Stripe& stripe = stripeFor(session);
  LockGuard lock(stripe.mutex);
  for (Entry* entry = stripe.head; entry != nullptr; entry = entry->next) {
    if (entry->session == session) {
      *binding = entry->binding;
      return true;
    }
  }
  return false;
}

bool TlsSessions::bind(const void* session, const Binding& binding) {
  Stripe& stripe = stripeFor(session);
  LockGuard lock(stripe.mutex);
  for (Entry* entry = stripe.head; entry != nullptr; entry = entry->next) {
    if (entry->session == session) {
      entry->binding = binding;
      return true;
    }
  }
  // Entries come from the allocator that never calls malloc (a TLS call
  // may run in a signal handler too).
  BlockAllocator::Block block = BlockAllocator::instance().allocate(sizeof(Entry));
  if (block.data == nullptr) return false;
  stripe.head = new (block.data) Entry{session, binding, stripe.head};
  return true;
}

bool TlsSessions::remove(const void* session, Binding* binding) {
  Stripe& stripe = stripeFor(session);
  LockGuard lock(stripe.mutex);
  for (Entry** link = &stripe.head; *link != nullptr; link = &(*link)->next) {
    Entry* entry = *link;
    if (entry->session != session) continue;
    *binding = entry->binding;
    *link = entry->next;
    BlockAllocator::instance().release({entry, BlockAllocator::capacityFor(sizeof(Entry))});
    return true;
  }
  return false;
}

void TlsSessions::forgetAfterFork() {
  for (Stripe& stripe : stripes_) {
    stripe.mutex.reinitialize();
    stripe.head = nullptr;
  }
}

}  // namespace tapshim::core
