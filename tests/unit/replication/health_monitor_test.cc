#include "replication/health_monitor.h"

#include <doctest/doctest.h>

using namespace shardline::replication;

TEST_CASE("pg_lsn text reads as Postgres' 64-bit position") {
  CHECK(parseLsn("0/0") == Lsn{0});
  CHECK(parseLsn("16/B374D848") == ((Lsn{0x16} << 32) | 0xB374D848));
  CHECK(formatLsn((Lsn{0x16} << 32) | 0xB374D848) == "16/B374D848");
  CHECK_FALSE(parseLsn("").has_value());
  CHECK_FALSE(parseLsn("16").has_value());
  CHECK_FALSE(parseLsn("/1").has_value());
  CHECK_FALSE(parseLsn("1/").has_value());
  CHECK_FALSE(parseLsn("1/x").has_value());
}

TEST_CASE("the primary is the node out of recovery on the newest timeline") {
  using R = NodeRole;
  // The configured primary answers: it keeps the role.
  CHECK(electPrimary({{0, true, R::Primary, 1}, {1, true, R::Replica, 0}}, 0, 1) == 0);
  // It stopped and the replica was promoted onto timeline 2.
  CHECK(electPrimary({{0, false, R::Unknown, 1}, {1, true, R::Primary, 2}}, -1, 1) == 1);
  // Promoted while the old primary still runs: the newer timeline wins.
  CHECK(electPrimary({{0, true, R::Primary, 1}, {1, true, R::Primary, 2}}, 0, 1) == 1);
  // The old primary comes back on its old timeline: never written to again...
  CHECK(electPrimary({{0, true, R::Primary, 1}, {1, true, R::Primary, 2}}, 1, 2) == 1);
  // ... even while the new one is down.
  CHECK(electPrimary({{0, true, R::Primary, 1}, {1, false, R::Unknown, 2}}, -1, 2) == -1);
  // Nobody out of recovery: no primary.
  CHECK(electPrimary({{0, true, R::Replica, 0}, {1, true, R::Replica, 0}}, 0, 1) == -1);
  // Two nodes on the same timeline: the current one keeps the role.
  CHECK(electPrimary({{0, true, R::Primary, 3}, {1, true, R::Primary, 3}}, 1, 3) == 1);
}

TEST_CASE("an ejected node is out at once and its shard loses a primary it was") {
  std::vector<NodeSpec> specs(2);
  specs[0].configured = NodeRole::Primary;
  specs[1].configured = NodeRole::Replica;
  ClusterStatus status(specs, {"s0"}, 1);
  CHECK(status.primaryOf(0) == 0);
  CHECK(status.nodesOf(0) == std::vector<size_t>{0, 1});
  status.node(1).healthy = true;
  status.node(1).role = NodeRole::Replica;
  CHECK(status.node(1).readable());
  status.eject(1, std::chrono::milliseconds(500));
  CHECK_FALSE(status.node(1).readable());
  CHECK(status.node(1).bannedUntil.load() > nowNanos());
  CHECK(status.primaryOf(0) == 0);
  status.eject(0, std::chrono::milliseconds(500));
  CHECK(status.primaryOf(0) == -1);
}

TEST_CASE("a user's write mark only moves forward") {
  ClusterStatus status(std::vector<NodeSpec>(1), {"s0"}, 2);
  status.markUserWrite(1, 0, 50);
  status.markUserWrite(1, 0, 40);
  CHECK(status.userWriteMark(1, 0) == 50);
  CHECK(status.userWriteMark(0, 0) == 0);
}
