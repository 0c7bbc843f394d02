// What the router knows of its nodes' health: which node of each shard takes writes, which
// replicas may serve reads, how far behind they are, and the write marks that keep a client's
// reads after its own writes.
//
// One ClusterStatus per router, built from the configuration before any thread starts. The
// health monitor's thread writes node samples and elections; worker threads read them, eject
// nodes they fail to reach, count their attached backends and set write marks. Every shared
// member is an atomic: nothing here takes a lock, so the query path never waits on it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardline::replication {

// A WAL position, as pg_lsn's 64-bit value.
using Lsn = uint64_t;

// Parses pg_lsn text ("16/B374D848"); nullopt when malformed.
std::optional<Lsn> parseLsn(std::string_view text);
std::string formatLsn(Lsn lsn);

// Steady-clock time in nanoseconds, the unit of every time stamp here.
int64_t nowNanos();

enum class NodeRole : uint8_t {
  Unknown,  // not checked yet, or unreachable since
  Primary,  // pg_is_in_recovery() is false
  Replica,  // pg_is_in_recovery() is true
};

std::string_view roleName(NodeRole role);

// A node as the configuration describes it.
struct NodeSpec {
  std::string name;
  size_t shard = 0;                         // index of its shard in the map
  NodeRole configured = NodeRole::Replica;  // the role the configuration gives it
  std::string host;                         // host name, IP address or socket directory
  uint16_t port = 5432;
  uint32_t weight = 1;  // for the weighted read policy
};

// One node's live state.
struct NodeStatus {
  // Passed its last check and is not banned. Ejection clears it at once; only a passing
  // check after the ban sets it again.
  std::atomic<bool> healthy{false};
  std::atomic<NodeRole> role{NodeRole::Unknown};
  // A primary: its current WAL position; a replica: the position it has replayed.
  std::atomic<Lsn> lsn{0};
  // When the check that read `lsn` started (nowNanos). Written after `lsn`, so a reader that
  // sees a time stamp sees that check's position or a later one.
  std::atomic<int64_t> sampledAt{0};
  std::atomic<uint32_t> timeline{0};    // a primary's WAL timeline
  std::atomic<int64_t> lagBytes{0};     // a replica: behind its primary, in bytes
  std::atomic<int64_t> lagMillis{0};    // a replica: behind its primary, in time
  std::atomic<bool> lagging{false};     // over its shard's max_lag: no reads
  std::atomic<int64_t> bannedUntil{0};  // nowNanos before which no check may restore it
  std::atomic<int32_t> active{0};       // backends attached to clients, over all workers
  std::atomic<uint64_t> reads{0};       // reads routed here
  std::atomic<uint64_t> failures{0};    // checks failed and ejections

  // A replica that may take reads now.
  bool readable() const {
    return healthy.load(std::memory_order_relaxed) &&
           role.load(std::memory_order_relaxed) == NodeRole::Replica &&
           !lagging.load(std::memory_order_relaxed);
  }
};

class ClusterStatus {
 public:
  // Requires: every spec's shard < shards.size(); each shard has one configured primary.
  ClusterStatus(std::vector<NodeSpec> nodes, std::vector<std::string> shards, size_t users);

  size_t size() const { return specs_.size(); }
  size_t shardCount() const { return shardNodes_.size(); }
  const std::string& shardName(size_t shard) const { return shardNames_[shard]; }
  const NodeSpec& spec(size_t node) const { return specs_[node]; }
  NodeStatus& node(size_t node) { return nodes_[node]; }
  const NodeStatus& node(size_t node) const { return nodes_[node]; }
  // The nodes of a shard, its configured primary first.
  const std::vector<size_t>& nodesOf(size_t shard) const { return shardNodes_[shard]; }
  bool hasReplicas(size_t shard) const { return shardNodes_[shard].size() > 1; }

  // The node that takes the shard's writes, or -1 while no primary is reachable.
  int primaryOf(size_t shard) const { return primary_[shard].load(std::memory_order_acquire); }
  // The monitor's election. Requires: the monitor thread.
  void setPrimary(size_t shard, int node) {
    primary_[shard].store(node, std::memory_order_release);
  }

  // Takes a node out of rotation at once, for at least `ban`; a passing check after that
  // brings it back. Called by workers that could not reach it, and by the monitor.
  void eject(size_t node, std::chrono::milliseconds ban);

  // The time of the newest write that `user` committed on `shard` through this router.
  int64_t userWriteMark(size_t user, size_t shard) const {
    return userMarks_[user * shardCount() + shard].load(std::memory_order_acquire);
  }
  void markUserWrite(size_t user, size_t shard, int64_t at);

 private:
  std::vector<NodeSpec> specs_;
  std::unique_ptr<NodeStatus[]> nodes_;
  std::vector<std::string> shardNames_;
  std::vector<std::vector<size_t>> shardNodes_;
  std::unique_ptr<std::atomic<int>[]> primary_;
  std::unique_ptr<std::atomic<int64_t>[]> userMarks_;  // users x shards
};

}  // namespace shardline::replication
