#include "router/sql/rewrite.h"

#include <doctest/doctest.h>

using shardline::sql::sliceInsertRows;

TEST_CASE("an INSERT keeps the chosen VALUES rows") {
  std::string error;
  auto slice = sliceInsertRows(
      "INSERT INTO users (user_id, name) VALUES (1, 'a'), (2, 'b'), "
      "(3, 'c')",
      {0, 2}, error);
  REQUIRE(slice);
  CHECK(slice->sql == "INSERT INTO users (user_id, name) VALUES (1, 'a'), (3, 'c')");
  CHECK(slice->parameters.empty());
}

TEST_CASE("parameters are renumbered without gaps, ON CONFLICT and RETURNING kept (K1)") {
  std::string error;
  auto slice = sliceInsertRows(
      "INSERT INTO users (user_id, name) VALUES ($1, $2), ($3, $4) "
      "ON CONFLICT (user_id) DO UPDATE SET name = $5 RETURNING user_id",
      {1}, error);
  REQUIRE(slice);
  CHECK(slice->sql ==
        "INSERT INTO users (user_id, name) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE "
        "SET name = $3 RETURNING user_id");
  CHECK(slice->parameters == std::vector<uint32_t>{3, 4, 5});
}

TEST_CASE("casts and repeated parameters survive") {
  std::string error;
  auto slice = sliceInsertRows("INSERT INTO t (k, a, b) VALUES ($1::int8, $2, $2), ($3, $4, $1)",
                               {1}, error);
  REQUIRE(slice);
  CHECK(slice->sql == "INSERT INTO t (k, a, b) VALUES ($2, $3, $1)");
  CHECK(slice->parameters == std::vector<uint32_t>{1, 3, 4});
}

TEST_CASE("what is not an INSERT ... VALUES, or rows out of range, is refused") {
  std::string error;
  CHECK_FALSE(sliceInsertRows("SELECT 1", {0}, error));
  CHECK_FALSE(sliceInsertRows("INSERT INTO t SELECT 1", {0}, error));
  CHECK_FALSE(sliceInsertRows("INSERT INTO t VALUES (1)", {1}, error));
  CHECK_FALSE(sliceInsertRows("INSERT INTO t VALUES (1), (2)", {1, 0}, error));
  CHECK_FALSE(sliceInsertRows("INSERT INTO t VALUES (", {0}, error));
  CHECK_FALSE(error.empty());
}
