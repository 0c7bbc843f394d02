// Google Benchmark: the per-statement cost of statement analysis on a plan
// cache hit (lex, normalize, look up) and of the routing decision after it,
// for typical OLTP statements. Run by scripts/bench-analysis.
#include <benchmark/benchmark.h>

#include "router/route/route.h"
#include "router/sql/plan_cache.h"
#include "shardmap/config_store.h"

using namespace shardline;

namespace {

const char* const kStatements[] = {
    "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;",
    "UPDATE pgbench_accounts SET abalance = abalance + -1234 WHERE aid = 98765;",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (3, 1, 4567, -12, "
    "CURRENT_TIMESTAMP);",
    "SELECT * FROM users u JOIN orders o USING (user_id) WHERE u.user_id = 42",
};

const shardmap::ShardMap& benchMap() {
  static auto loaded = shardmap::parseShardMap(R"(
[[tables]]
name = "pgbench_accounts"
key = "aid"
type = "int"
[[tables]]
name = "users"
key = "user_id"
type = "bigint"
[[tables]]
name = "orders"
key = "user_id"
type = "bigint"
colocate_with = "users"
)",
                                               "bench.toml", {"s0", "s1"});
  return *loaded.map;
}

void planCacheHit(benchmark::State& state) {
  sql::PlanCache cache;
  const char* statement = kStatements[state.range(0)];
  cache.analyze(statement);  // the miss, outside the timing
  for (auto _ : state) {
    sql::AnalyzedStatement analyzed = cache.analyze(statement);
    benchmark::DoNotOptimize(analyzed);
  }
}

void planCacheHitAndRoute(benchmark::State& state) {
  sql::PlanCache cache;
  const char* statement = kStatements[state.range(0)];
  cache.analyze(statement);
  std::vector<route::Parameter> none;
  for (auto _ : state) {
    sql::AnalyzedStatement analyzed = cache.analyze(statement);
    route::RouteInput input{
        *analyzed.analysis, analyzed.shape, analyzed.hints, none, "public", false, {}, {}};
    route::Route decided = route::decide(benchMap(), input);
    benchmark::DoNotOptimize(decided);
  }
}

void planCacheMiss(benchmark::State& state) {
  const char* statement = kStatements[state.range(0)];
  for (auto _ : state) {
    sql::PlanCache cache;
    sql::AnalyzedStatement analyzed = cache.analyze(statement);
    benchmark::DoNotOptimize(analyzed);
  }
}

}  // namespace

BENCHMARK(planCacheHit)->DenseRange(0, 3);
BENCHMARK(planCacheHitAndRoute)->DenseRange(0, 3);
BENCHMARK(planCacheMiss)->DenseRange(0, 3);
BENCHMARK_MAIN();
