#include "router/session/statement_class.h"

#include <doctest/doctest.h>

using shardline::session::classify;
using shardline::session::classifyTokens;
using shardline::session::StatementClass;

namespace {

bool same(const StatementClass& a, const StatementClass& b) {
  return a.changesSettings == b.changesSettings && a.pinsBackend == b.pinsBackend &&
         a.statements == b.statements && a.deallocateName == b.deallocateName &&
         a.deallocateAll == b.deallocateAll && a.executeName == b.executeName &&
         a.prepareName == b.prepareName && a.customSettings == b.customSettings;
}

}  // namespace

TEST_CASE("classify tells settings, pins and prepared-statement names apart") {
  CHECK(classify("SELECT 1").statements == 1);
  CHECK_FALSE(classify("SELECT 1").changesSettings);
  CHECK(classify("SET search_path = a").changesSettings);
  CHECK(classify("SELECT set_config('app.x', '1', false)").customSettings ==
        std::vector<std::string>{"app.x"});
  CHECK(classify("LISTEN news").pinsBackend);
  CHECK(classify("SELECT pg_advisory_lock(1)").pinsBackend);
  CHECK(classify("DEALLOCATE PREPARE s1").deallocateName == "s1");
  CHECK(classify("DEALLOCATE ALL").deallocateAll);
  CHECK(classify("SELECT 1; SELECT 2").statements == 2);
}

TEST_CASE("classify without lexing agrees with classify from tokens") {
  const char* texts[] = {
      "SELECT abalance FROM pgbench_accounts WHERE aid = 42;",
      "select 1",
      "  SELECT 1 ;  \n",
      "SELECT 1;;",
      "SELECT 1; SELECT 2",
      "SELECT ';'",
      "SELECT 1; -- done",
      "SELECT set_config('app.tenant', '7', false)",
      "SELECT SET_CONFIG('search_path', 'a', false)",
      "SELECT pg_advisory_lock(1)",
      "SELECT PG_TRY_ADVISORY_LOCK_SHARED(1)",
      "SELECT * INTO TEMP t FROM a",
      "SELECT * INTO TEMPORARY t FROM a",
      "SELECT * FROM pg_temp.t",
      "SELECT 'temp'",
      "INSERT INTO t VALUES (1) RETURNING *",
      "UPDATE t SET a = 1 WHERE id = 2",
      "DELETE FROM t WHERE id = 2",
      "WITH x AS (SELECT 1) SELECT * FROM x",
      "selectx FROM t",
      "SELECTION",
      "with",
      "SET search_path = a",
      "set_config",
      "/* c */ SELECT 1",
      "(SELECT 1)",
      "",
      "   ",
      "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
      "EXECUTE s1(2)",
      "LISTEN news",
  };
  for (const char* text : texts) {
    INFO(text);
    CHECK(same(classify(text), classifyTokens(text)));
  }
}

TEST_CASE("classify without lexing agrees with classify from tokens on made-up texts") {
  const char* pieces[] = {
      "SELECT ",   "select ",
      "INSERT ",   "update ",
      "delete ",   "WITH ",
      "SET ",      "x ",
      "t.a ",      "1 ",
      "$1 ",       "'a;b' ",
      "'temp' ",   "\"temp\" ",
      "temp ",     "TeMp ",
      "pg_temp.",  "tempo ",
      "; ",        ";",
      "-- c\n",    "/* ; */ ",
      "( ",        ") ",
      ", ",        "set_config('a.b', '1', false) ",
      "advisory ", "pg_advisory_lock(1) ",
      "HOLD ",     "\n",
      "$$;$$ ",    "selectx ",
  };
  constexpr size_t kPieces = sizeof(pieces) / sizeof(pieces[0]);
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    size_t count = 1 + next() % 8;
    for (size_t i = 0; i < count; ++i) {
      text += pieces[next() % kPieces];
    }
    INFO(text);
    REQUIRE(same(classify(text), classifyTokens(text)));
  }
}
