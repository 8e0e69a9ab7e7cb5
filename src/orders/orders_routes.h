// The orders' HTTP side: cart, validation, checkout (with Idempotency-Key), order history, the
// seller's orders to ship, and status moves.
#pragma once

#include "http/auth.h"
#include "http/router.h"
#include "orders/orders.h"

namespace emporium::orders {

// service must outlive router. fingerprint_key makes request fingerprints unguessable (they
// cover card numbers): pass the PII vault.
void AddRoutes(http::Router& router, OrderService& service, http::Authenticator authenticate,
               accounts::PiiVault& fingerprint_key);

}  // namespace emporium::orders
