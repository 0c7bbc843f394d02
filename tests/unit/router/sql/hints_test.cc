#include "router/sql/hints.h"

#include <doctest/doctest.h>

#include <string>

using namespace shardline::sql;

namespace {

std::string rendered(const Hints& hints) {
  std::string out;
  for (const Hint& hint : hints.items) {
    out += (out.empty() ? "" : " ") + hint.key + "=" + hint.value;
  }
  return hints.error.empty() ? out : out + " !" + hints.error;
}

std::string hintsOf(std::string_view sql) {
  return rendered(parseHints(sql));
}

}  // namespace

TEST_CASE("a shard hint in a block comment") {
  Hints hints = parseHints("/* shardline: shard=s1 */ SELECT * FROM \"Sys\".\"Model\"");
  REQUIRE(hints.find("shard") != nullptr);
  CHECK(*hints.find("shard") == "s1");
  CHECK(hints.find("key") == nullptr);
  CHECK(hints.error.empty());
}

TEST_CASE("several pairs, commas, quotes, line comments") {
  CHECK(hintsOf("/* shardline: key=42, role=primary */ UPDATE t SET a = 1") ==
        "key=42 role=primary");
  CHECK(hintsOf("SELECT 1 -- shardline: role=replica") == "role=replica");
  CHECK(hintsOf("/*ShardLine:Key='a b' SHARD=\"s\"\"2\"*/ SELECT 1") == "key=a b shard=s\"2");
  CHECK(hintsOf("/* shardline: shard=s1 */ /* shardline: key=7 */ SELECT 1") == "shard=s1 key=7");
}

TEST_CASE("comments that are not hints are ignored") {
  CHECK(hintsOf("SELECT 1").empty());
  CHECK(hintsOf("/* plain comment */ SELECT 1").empty());
  CHECK(hintsOf("/* about shardline: not at the start */ SELECT 1").empty());
  CHECK(hintsOf("SELECT '/* shardline: shard=s1 */'").empty());  // inside a string
}

TEST_CASE("a malformed hint is reported") {
  CHECK(hintsOf("/* shardline: shard */ SELECT 1") ==
        " !shardline hint \"shard\" is not key=value");
  CHECK(hintsOf("/* shardline: key= */ SELECT 1") == " !shardline hint \"key\" has no value");
  CHECK(hintsOf("/* shardline: key='open */ SELECT 1") == " !shardline hint \"key\" has no value");
}
