// Picks the node a read goes to, by the read policy of its shard and database.
//
// A ReadBalancer belongs to one worker and is touched only from its thread; what it reads of
// the nodes comes from the shared ClusterStatus, through atomics.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "replication/cluster_status.h"

namespace shardline::replication {

enum class ReadPolicy : uint8_t {
  Primary,           // reads stay on the primary
  RoundRobin,        // each reader in turn
  Random,            // a reader chosen at random
  LeastConnections,  // the reader with the fewest backends attached to clients
  Weighted,          // readers in proportion to their weights, smoothly interleaved
  ClientHash,        // the same reader for the same client (address or user) while it is up
};

struct ReadRule {
  ReadPolicy policy = ReadPolicy::RoundRobin;
  bool includePrimary = false;  // the primary is one of the readers
};

// A read's demand on the replicas' progress: none, a WAL position to have replayed, or the
// primary alone (a write whose position is not known yet).
struct Freshness {
  static constexpr Lsn kPrimaryOnly = ~Lsn{0};
  Lsn minLsn = 0;
  bool primaryOnly() const { return minLsn == kPrimaryOnly; }
};

class ReadBalancer {
 public:
  explicit ReadBalancer(const ClusterStatus& status);

  // The node a read on `shard` goes to: a reader the rule allows that is healthy, within its
  // lag limit and fresh enough, or else the primary; -1 when neither can serve. Nodes whose
  // bit is set in `excluded` (by position in nodesOf(shard)) are skipped: they failed this
  // read already.
  int pick(size_t shard, const ReadRule& rule, Freshness fresh, uint64_t clientHash,
           uint64_t excluded = 0);

 private:
  const ClusterStatus& status_;
  std::vector<uint64_t> cursor_;               // round robin, by shard
  std::vector<std::vector<int64_t>> current_;  // smooth weighted, by shard and node position
  std::minstd_rand random_;
  std::vector<size_t> candidates_;  // scratch: node positions in the shard
};

}  // namespace shardline::replication
