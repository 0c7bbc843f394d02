// The routing corpus: statement, parameters -> expected shards, on a map of
// two shards (4096 slots split evenly). Expected shards were computed
// independently with Python's xxhash (xxh3_64 of the key's canonical bytes,
// top bit -> s0 or s1): integer keys 1, 2, 3, 99, 123 live on s0 and 7, 42,
// 456 on s1; text keys 'b' and 'tenant-1' on s0, 'a' on s1.
#include "router/route/route.h"

#include <doctest/doctest.h>

#include "router/sql/plan_cache.h"
#include "shardmap/config_store.h"

using namespace shardline;

namespace {

constexpr std::string_view kMap = R"(
[[tables]]
name = "users"
key = "User_ID"
type = "bigint"

[[tables]]
name = "orders"
key = "user_id"
type = "bigint"
colocate_with = "users"

[[tables]]
name = "countries"
reference = true

[[tables]]
name = "events"
key = "tenant"
type = "text"

[[tables]]
name = "app.accounts"
key = "id"
type = "int"
)";

const shardmap::ShardMap& theMap() {
  static auto loaded = shardmap::parseShardMap(kMap, "corpus.toml", {"s0", "s1"});
  REQUIRE(loaded.map != nullptr);
  return *loaded.map;
}

struct Case {
  std::string sql;
  std::vector<route::Parameter> parameters = {};
  bool allowMultishardWrites = false;
  bool catalog = false;  // the router knows users' columns (user_id, name) from the catalog
  std::vector<std::string> searchPath = {};
};

std::string routeOf(const Case& c) {
  static sql::PlanCache cache;
  sql::AnalyzedStatement analyzed = cache.analyze(c.sql);
  static const std::vector<std::string> kUserColumns{"user_id", "name"};
  route::RouteInput input{*analyzed.analysis,
                          analyzed.shape,
                          analyzed.hints,
                          c.parameters,
                          "public",
                          c.allowMultishardWrites,
                          [&c](const shardmap::QualifiedName& table) {
                            bool known = c.catalog && table.name == "users";
                            return known ? &kUserColumns : nullptr;
                          },
                          c.searchPath};
  route::Route decided = route::decide(theMap(), input);
  if (decided.error) {
    return std::string(decided.error->sqlstate);
  }
  std::string out = route::describe(theMap(), decided);
  if (!decided.rowShards.empty()) {
    out += " rows";
    for (auto shard : decided.rowShards) {
      out += " " + theMap().shard(shard).name;
    }
  }
  return out;
}

route::Parameter text(std::string value) {
  return route::Parameter{std::move(value), false};
}

route::Parameter int8(int64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) {
    bytes[size_t(i)] = char(uint64_t(value) >> (56 - 8 * i));
  }
  return route::Parameter{bytes, true};
}

}  // namespace

TEST_CASE("key in literals, both sides of =, with casts") {
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = 42"}) == "s1");
  CHECK(routeOf({"SELECT * FROM users WHERE 42 = user_id"}) == "s1");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = '1'::bigint"}) == "s0");
  CHECK(routeOf({"select name from USERS where USER_ID = 7"}) == "s1");
  CHECK(routeOf({"SELECT * FROM public.users WHERE user_id = 123"}) == "s0");
}

TEST_CASE("key in parameters, text and binary, every execution decides again (K6)") {
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = $1", {text("42")}}) == "s1");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = $1", {text("1")}}) == "s0");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = $1", {int8(456)}}) == "s1");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = $1", {int8(3)}}) == "s0");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = $1::bigint", {text("7")}}) == "s1");
  // Without the parameter's value the statement could be anywhere.
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = $1"}) == "all");
}

TEST_CASE("IN lists, ANY arrays and OR give the union of shards") {
  CHECK(routeOf({"SELECT * FROM users WHERE user_id IN (1, 2, 3)"}) == "s0");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id IN (1, 42)"}) == "s0,s1");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = 1 OR user_id = 42"}) == "s0,s1");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = ANY($1)", {text("{42,456}")}}) == "s1");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = ANY($1)", {text("{1,7}")}}) == "s0,s1");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = 1 OR name = 'x'"}) == "all");
  CHECK(routeOf({"SELECT * FROM users WHERE user_id = 42 AND name = 'x'"}) == "s1");
}

TEST_CASE("colocated joins on the key, subqueries and CTEs (K7, K8)") {
  CHECK(routeOf({"SELECT * FROM users u JOIN orders o USING (user_id) WHERE u.user_id = 42"}) ==
        "s1");
  CHECK(routeOf({"SELECT * FROM users u JOIN orders o ON o.user_id = u.user_id "
                 "WHERE u.user_id = 2"}) == "s0");
  CHECK(routeOf({"WITH x AS (SELECT * FROM orders WHERE user_id = 7) SELECT * FROM x"}) == "s1");
  // Without a join condition, orders is not pinned: every shard.
  // Each shard would pair its own orders with user 42 alone: refused, never a partial answer.
  CHECK(routeOf({"SELECT * FROM users u, orders o WHERE u.user_id = 42"}) == "SL004");
  // K8: non-colocated sharded tables are refused whatever the constants hash to.
  CHECK(routeOf({"SELECT * FROM users, events WHERE user_id = 1 AND tenant = 'b'"}) == "SL005");
  CHECK(routeOf({"SELECT * FROM users, events WHERE user_id = 42 AND tenant = 'a'"}) == "SL005");
}

TEST_CASE("INSERT: single row to its shard, multi-row split per shard (K1)") {
  CHECK(routeOf({"INSERT INTO users (user_id, name) VALUES (42, 'a')"}) == "s1");
  CHECK(routeOf({"INSERT INTO users (user_id, name) VALUES (123, 'a'), (456, 'b')"}) ==
        "s0,s1 rows s0 s1");
  CHECK(routeOf({"INSERT INTO users (name, user_id) VALUES ($1, $2), ($3, $4)",
                 {text("a"), text("456"), text("b"), text("123")}}) == "s0,s1 rows s1 s0");
  CHECK(routeOf({"INSERT INTO users (user_id, name) VALUES (1, 'x') ON CONFLICT DO NOTHING"}) ==
        "s0");
  CHECK(routeOf({"INSERT INTO users (name) VALUES ('x')"}) == "SL001");
  CHECK(routeOf({"INSERT INTO users VALUES (1, 'x')"}) == "SL007");
  // K6: with the catalog's column order, INSERT without a column list routes by key.
  CHECK(routeOf({"INSERT INTO users VALUES (42, 'x')", {}, false, true}) == "s1");
  CHECK(routeOf({"INSERT INTO users VALUES ($1, $2)", {text("1"), text("x")}, false, true}) ==
        "s0");
  CHECK(routeOf({"INSERT INTO users VALUES ($1, $2)", {text("42"), text("x")}, false, true}) ==
        "s1");
  CHECK(routeOf({"INSERT INTO users (user_id) SELECT 1"}) == "SL004");
}

TEST_CASE("UPDATE and DELETE with a key go to one shard; a key change is refused (K9)") {
  CHECK(routeOf({"UPDATE users SET name = 'b' WHERE user_id = 42"}) == "s1");
  CHECK(routeOf({"DELETE FROM orders WHERE user_id = 3"}) == "s0");
  CHECK(routeOf({"UPDATE users SET user_id = 99 WHERE user_id = 1"}) == "SL002");
  CHECK(routeOf({"UPDATE users SET name = 'b'"}) == "SL001");
  CHECK(routeOf({"UPDATE users SET name = 'b'", {}, true}) == "all");
  CHECK(routeOf({"DELETE FROM users WHERE name = 'a'"}) == "SL001");
}

TEST_CASE("reads without a key go everywhere; merges are refused until supported (K10)") {
  CHECK(routeOf({"SELECT * FROM users WHERE name = 'a'"}) == "all");
  CHECK(routeOf({"SELECT count(*) FROM users"}) == "SL004");
  CHECK(routeOf({"SELECT * FROM users ORDER BY name"}) == "SL004");
  CHECK(routeOf({"SELECT * FROM users LIMIT 3"}) == "SL004");
  CHECK(routeOf({"SELECT DISTINCT name FROM users"}) == "SL004");
  // With a key, everything runs on one shard, merges included.
  CHECK(routeOf({"SELECT count(*) FROM users WHERE user_id = 42"}) == "s1");
}

TEST_CASE("reference tables: writes everywhere, reads anywhere") {
  CHECK(routeOf({"INSERT INTO countries VALUES (1, 'x')"}) == "all");
  CHECK(routeOf({"UPDATE countries SET name = 'y'"}) == "all");
  CHECK(routeOf({"SELECT * FROM countries"}) == "any (s0)");
  CHECK(routeOf({"SELECT * FROM users u JOIN countries c ON c.id = u.country "
                 "WHERE u.user_id = 42"}) == "s1");
}

TEST_CASE("DDL on sharded or reference tables goes to every shard") {
  CHECK(routeOf({"CREATE INDEX ON users (name)"}) == "all");
  CHECK(routeOf({"ALTER TABLE countries ADD COLUMN code text"}) == "all");
  CHECK(routeOf({"TRUNCATE orders"}) == "all");
  CHECK(routeOf({"CREATE TABLE scratch (x int)"}) == "s0");
  CHECK(routeOf({"DROP TABLE users, events, countries"}) == "all");  // not colocated: still DDL
  CHECK(routeOf({"TRUNCATE users, events"}) == "all");
}

TEST_CASE("a hint that contradicts the statement's key is refused") {
  CHECK(routeOf({"/* shardline: shard=s0 */ SELECT * FROM users WHERE user_id = 42"}) == "SL006");
  CHECK(routeOf({"/* shardline: shard=s1 */ SELECT * FROM users WHERE user_id = 42"}) == "s1");
  CHECK(routeOf({"/* shardline: key=1 */ INSERT INTO users (user_id) VALUES (42)"}) == "SL006");
  CHECK(routeOf({"/* shardline: shard=s0 */ UPDATE users SET name = 'x'"}) == "s0");
}

TEST_CASE("search_path: the first schema whose table the map names") {
  Case c{"SELECT * FROM accounts"};
  c.searchPath = {"app", "public"};
  CHECK(routeOf(c) == "all");  // app.accounts is sharded: every shard
  c.searchPath = {"public"};
  CHECK(routeOf(c) == "s0");  // public.accounts is not in the map: the default shard
  Case users{"SELECT * FROM users WHERE user_id = 42"};
  users.searchPath = {"app", "public"};  // no app.users: public.users
  CHECK(routeOf(users) == "s1");
}

TEST_CASE("COPY (query) over several shards and DDL on no table") {
  CHECK(routeOf({"COPY (SELECT count(*) FROM users) TO STDOUT"}) == "SL004");
  CHECK(routeOf({"COPY (SELECT * FROM users WHERE user_id = 42) TO STDOUT"}) == "s1");
  CHECK(routeOf({"CREATE SCHEMA app"}) == "all");
}

TEST_CASE("SQL PREPARE of statements on mapped tables is refused, not misrouted") {
  CHECK(routeOf({"PREPARE p (bigint) AS SELECT * FROM users WHERE user_id = $1"}) == "SL004");
  CHECK(routeOf({"PREPARE p AS SELECT * FROM countries"}) == "SL004");
  CHECK(routeOf({"PREPARE p AS SELECT 1"}) == "any (s0)");
}

TEST_CASE("hints by comment win, in extended protocol too (K2)") {
  CHECK(routeOf({"/* shardline: shard=s1 */ SELECT * FROM \"Sys\".\"Model\""}) == "s1");
  CHECK(routeOf({"/* shardline: key=42 */ SELECT * FROM users"}) == "s1");
  CHECK(routeOf({"/* shardline: shard=s9 */ SELECT 1"}) == "SL006");
}

TEST_CASE("text and int keys, schemas, statements the map does not know") {
  CHECK(routeOf({"SELECT * FROM events WHERE tenant = 'a'"}) == "s1");
  CHECK(routeOf({"SELECT * FROM events WHERE tenant = 'tenant-1'"}) == "s0");
  CHECK(routeOf({"SELECT * FROM accounts WHERE id = 1"}) == "s0");  // not app.accounts
  CHECK(routeOf({"SELECT 1"}) == "any (s0)");
  CHECK(routeOf({"SELEC broken"}) == "any (s0)");  // the default shard reports the error
  CHECK(routeOf({"COPY users FROM STDIN (FORMAT csv)"}) == "all");
  CHECK(routeOf({"EXPLAIN SELECT * FROM users WHERE user_id = 42"}) == "s1");
}

TEST_CASE("writes to reference or unnamed tables from sharded rows are refused") {
  CHECK(routeOf({"INSERT INTO countries SELECT * FROM users WHERE user_id = 42"}) == "SL004");
  CHECK(routeOf({"UPDATE countries c SET name = u.name FROM users u WHERE u.user_id = 42"}) ==
        "SL004");
  CHECK(routeOf({"INSERT INTO scratch SELECT * FROM users WHERE user_id = 42"}) == "SL004");
}

TEST_CASE("the shard key cannot change through ON CONFLICT, and not under a hint") {
  CHECK(routeOf({"INSERT INTO users (user_id, name) VALUES (42, 'a') "
                 "ON CONFLICT (user_id) DO UPDATE SET user_id = 1"}) == "SL002");
  CHECK(routeOf({"/* shardline: shard=s0 */ UPDATE users SET user_id = 1 WHERE user_id = 42"}) ==
        "SL002");
}

TEST_CASE("hints that cannot be honoured are errors, not silently ignored") {
  CHECK(routeOf({"/* shardline: key=abc */ SELECT * FROM users"}) == "SL006");
  CHECK(routeOf({"/* shardline: shrad=s1 */ SELECT * FROM users"}) == "SL006");
}

TEST_CASE("multi-shard reads that lock rows still need their merges") {
  CHECK(routeOf({"SELECT * FROM users ORDER BY 1 LIMIT 5 FOR UPDATE", {}, true}) == "SL004");
  CHECK(routeOf({"SELECT * FROM users FOR UPDATE"}) == "SL001");
  CHECK(routeOf({"SELECT * FROM users FOR UPDATE", {}, true}) == "all");
}
