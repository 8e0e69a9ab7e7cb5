// The recommendation routes. Who may call each (the authorization matrix test holds them to it):
//
//   GET  /api/products/{id}/recommendations?limit=10   anyone (public, cached)
//   GET  /api/recommendations?limit=10                 signed in, scope `profile` (one's own
//                                                      history and cart; staff tokens never)
//   POST /api/recommendations/feedback                 anyone: {model_version, event: "click" |
//                                                      "add_to_cart"} counted per model version
//   GET  /api/admin/recommendations                    scope `ops:read` (admins)
//   POST /api/admin/recommendations/train              scope `ops:write` (admins): 202, or 409
//                                                      `training_running`
//   POST /api/admin/recommendations/rollback           scope `ops:write` (admins): 200, or 409
//                                                      `no_previous_version`
//
// Answers list products as the catalog shows them, plus the `model_version` that chose them;
// every product listed counts as an impression of that version.
#pragma once

#include <string>

#include "core/read_cache.h"
#include "db/database.h"
#include "http/auth.h"
#include "http/router.h"
#include "recommend/recommend.h"

namespace emporium::recommend {

// The shoppers' routes. Answers go through cache (the catalog's read-through cache: emptied on
// every product change and order), keyed by the model version so that a swap shows at once.
void AddRoutes(http::Router& router, Recommender& recommender, ReadCache& cache, db::Database& database,
               http::Authenticator authenticate);

// The admin area's routes. retrain_interval is shown as the schedule ("off" when none).
void AddAdminRoutes(http::Router& router, Recommender& recommender, ModelStore& store, RetrainSchedule& schedule,
                    const http::Authenticator& authenticate, std::string retrain_interval);

}  // namespace emporium::recommend
