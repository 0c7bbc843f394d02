// The health monitor: checks every node on a timer over libpq (non-blocking, driven by Asio),
// publishes roles, WAL positions and lag into the ClusterStatus, ejects nodes that fail, and
// elects each shard's primary.
//
// It runs on a thread of its own, started by start() and ended by stop(); its state is
// touched only from that thread. Workers see its results through the ClusterStatus.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "replication/cluster_status.h"

namespace shardline::replication {

struct LagLimit {
  int64_t bytes = 0;   // 0: no limit
  int64_t millis = 0;  // 0: no limit
};

struct MonitorConfig {
  std::chrono::milliseconds interval{250};  // between the starts of two checks of a node
  std::chrono::milliseconds timeout{2000};  // a check (connecting included) that takes longer fails
  std::chrono::milliseconds ban{1000};      // an ejected node gets no check-in before this
  std::vector<LagLimit> lagLimits;          // by shard
  // How the monitor logs in: libpq keywords (user, password, dbname, sslmode, sslrootcert).
  std::vector<std::pair<std::string, std::string>> login;
};

class HealthMonitor {
 public:
  HealthMonitor(ClusterStatus& status, MonitorConfig config);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  void start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

// What a check of a node read.
struct NodeSample {
  bool inRecovery = false;
  Lsn lsn = 0;            // a primary's current position, a replica's replayed one
  uint32_t timeline = 0;  // a primary's timeline; 0 for a replica
};

// The node that should take a shard's writes, from each node's state: a node that is up and
// not in recovery, on the newest timeline, which is never older than `minTimeline` (the newest
// any primary of the shard had). The current primary keeps the role against nodes on its own
// timeline. -1 when no node qualifies. Pure; exposed for tests.
struct ElectionInput {
  size_t node;
  bool up;
  NodeRole role;
  uint32_t timeline;
};
int electPrimary(const std::vector<ElectionInput>& nodes, int current, uint32_t minTimeline);

}  // namespace shardline::replication
