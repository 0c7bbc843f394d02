#include "router/sql/plan_cache.h"

#include <doctest/doctest.h>

#include <string>

using namespace shardline::sql;

TEST_CASE("statements of one shape share one analysis; constants come from the lexer") {
  PlanCache cache;
  AnalyzedStatement first = cache.analyze("SELECT abalance FROM pgbench_accounts WHERE aid = 1");
  AnalyzedStatement second =
      cache.analyze("select abalance from PGBENCH_ACCOUNTS where aid=2  -- again");
  CHECK_FALSE(first.cached);
  CHECK(second.cached);
  CHECK(first.analysis == second.analysis);
  CHECK(cache.hits() == 1);
  CHECK(cache.misses() == 1);

  const ColumnPin* pin = second.analysis->tables.at(0).pin("aid");
  REQUIRE(pin != nullptr);
  REQUIRE(pin->values.size() == 1);
  CHECK(pin->values[0].index == 0);
  CHECK(first.shape.constants.at(0).view() == "1");
  CHECK(second.shape.constants.at(0).view() == "2");
}

TEST_CASE("hints are read for each execution, not cached") {
  PlanCache cache;
  AnalyzedStatement a = cache.analyze("/* shardline: shard=s1 */ SELECT * FROM t WHERE k = 1");
  AnalyzedStatement b = cache.analyze("/* shardline: shard=s2 */ SELECT * FROM t WHERE k = 5");
  CHECK(b.cached);
  CHECK(*a.hints.find("shard") == "s1");
  CHECK(*b.hints.find("shard") == "s2");
  CHECK(cache.analyze("SELECT * FROM t WHERE k = 9").hints.empty());
}

TEST_CASE("the least recently used shape is evicted first") {
  PlanCache cache(2);
  cache.analyze("SELECT 1 FROM a");
  cache.analyze("SELECT 1 FROM b");
  CHECK(cache.analyze("SELECT 2 FROM a").cached);  // a is now the most recent
  cache.analyze("SELECT 1 FROM c");                // evicts b
  CHECK(cache.size() == 2);
  CHECK(cache.analyze("SELECT 3 FROM a").cached);
  CHECK_FALSE(cache.analyze("SELECT 1 FROM b").cached);
}

TEST_CASE("errors and analyses that depend on constant values are not cached") {
  PlanCache cache;
  AnalyzedStatement bad = cache.analyze("SELECT * FROM");
  CHECK_FALSE(bad.analysis->ok());
  CHECK(bad.analysis->errorPosition == 14);

  AnalyzedStatement lexical = cache.analyze("SELECT 'open");
  CHECK(lexical.analysis->error == "unterminated quoted string");
  CHECK(lexical.analysis->errorPosition == 8);

  cache.analyze("COPY t FROM STDIN WITH DELIMITER ','");
  AnalyzedStatement semicolon = cache.analyze("COPY t FROM STDIN WITH DELIMITER ';'");
  CHECK_FALSE(semicolon.cached);
  CHECK(semicolon.analysis->copy.options.at(0).value == ";");
  CHECK(cache.size() == 0);
}

TEST_CASE("a different shape never hits") {
  PlanCache cache;
  cache.analyze("SELECT * FROM t WHERE k = 1");
  CHECK_FALSE(cache.analyze("SELECT * FROM t WHERE k = $1").cached);
  CHECK_FALSE(cache.analyze("SELECT * FROM \"T\" WHERE k = 1").cached);
  CHECK(cache.analyze("SELECT * FROM T WHERE K = 1").cached);
}

TEST_CASE("standard_conforming_strings off: backslashes in plain strings are not analyzed") {
  PlanCache cache;
  auto off = ConformingStrings::Off;
  AnalyzedStatement escaped = cache.analyze("SELECT * FROM t WHERE k = 'a\\' OR k = 1 --'", off);
  CHECK_FALSE(escaped.analysis->ok());
  AnalyzedStatement plain = cache.analyze("SELECT * FROM t WHERE k = 'a'", off);
  CHECK(plain.analysis->ok());
  CHECK(plain.analysis->tables.at(0).pin("k") != nullptr);
}
