#include "http/errors.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace emporium::http {
namespace {

TEST(ErrorResponse, HasTheContractShape) {
    Response r = ErrorResponse(Error::Validation({{"price_cents", "must be a whole number"}, {"name", "is required"}}));
    EXPECT_EQ(r.status, 422);
    auto body = boost::json::parse(r.body).as_object();
    const auto& error = body.at("error").as_object();
    EXPECT_EQ(error.at("code").as_string(), "validation_failed");
    EXPECT_FALSE(error.at("message").as_string().empty());
    const auto& fields = error.at("details").as_object().at("fields").as_array();
    ASSERT_EQ(fields.size(), 2u);
    EXPECT_EQ(fields[0].as_object().at("field").as_string(), "price_cents");
}

TEST(ErrorResponse, FieldsCarryCodeAndParameters) {
    FieldError stock = FieldError::Coded("items.7", "insufficient_stock", "only 3 left").With("available", 3);
    Response r = ErrorResponse(Error::Validation({stock, {"name", "is odd"}}));
    const boost::json::value body = boost::json::parse(r.body);
    const auto& fields = body.at("error").at("details").at("fields").as_array();
    ASSERT_EQ(fields.size(), 2u);
    EXPECT_EQ(boost::json::serialize(fields[0]),
              R"({"field":"items.7","code":"insufficient_stock","message":"only 3 left","available":3})");
    EXPECT_EQ(fields[1].as_object().at("code").as_string(), "invalid");  // the default reason
}

TEST(FieldError, ParametersAreBounded) {
    FieldError e = FieldError::Invalid("x", "is odd");
    for (int i = 0; i < 10; ++i) e.With("p" + std::to_string(i), i);
    EXPECT_EQ(e.params.size(), FieldError::kMaxParams);
}

TEST(ErrorResponse, InternalErrorsHideTheirMessage) {
    Response r = ErrorResponse(Error{ErrorKind::kInternal, "db", "SQLITE_CORRUPT at /var/lib/secret.db", {}});
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body.find("secret"), std::string::npos);
    EXPECT_NE(r.body.find("internal_error"), std::string::npos);
}

TEST(StatusFor, MapsEveryKind) {
    EXPECT_EQ(StatusFor(ErrorKind::kBadRequest), 400);
    EXPECT_EQ(StatusFor(ErrorKind::kUnauthorized), 401);
    EXPECT_EQ(StatusFor(ErrorKind::kPaymentDeclined), 402);
    EXPECT_EQ(StatusFor(ErrorKind::kForbidden), 403);
    EXPECT_EQ(StatusFor(ErrorKind::kNotFound), 404);
    EXPECT_EQ(StatusFor(ErrorKind::kMethodNotAllowed), 405);
    EXPECT_EQ(StatusFor(ErrorKind::kConflict), 409);
    EXPECT_EQ(StatusFor(ErrorKind::kPayloadTooLarge), 413);
    EXPECT_EQ(StatusFor(ErrorKind::kUnsupportedMedia), 415);
    EXPECT_EQ(StatusFor(ErrorKind::kValidation), 422);
    EXPECT_EQ(StatusFor(ErrorKind::kRateLimited), 429);
    EXPECT_EQ(StatusFor(ErrorKind::kUnavailable), 503);
}

}  // namespace
}  // namespace emporium::http
