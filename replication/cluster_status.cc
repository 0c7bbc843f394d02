#include "replication/cluster_status.h"

#include <cassert>
#include <charconv>
#include <cstdio>

namespace shardline::replication {

std::optional<Lsn> parseLsn(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) {
    return std::nullopt;
  }
  uint32_t high = 0;
  uint32_t low = 0;
  const char* end = text.data() + slash;
  auto [p1, e1] = std::from_chars(text.data(), end, high, 16);
  if (e1 != std::errc() || p1 != end) {
    return std::nullopt;
  }
  end = text.data() + text.size();
  auto [p2, e2] = std::from_chars(text.data() + slash + 1, end, low, 16);
  if (e2 != std::errc() || p2 != end) {
    return std::nullopt;
  }
  return (Lsn(high) << 32) | low;
}

std::string formatLsn(Lsn lsn) {
  char text[24];
  std::snprintf(text, sizeof text, "%X/%X", unsigned(lsn >> 32), unsigned(lsn & 0xFFFFFFFFu));
  return text;
}

int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string_view roleName(NodeRole role) {
  switch (role) {
    case NodeRole::Primary:
      return "primary";
    case NodeRole::Replica:
      return "replica";
    case NodeRole::Unknown:
      break;
  }
  return "unknown";
}

ClusterStatus::ClusterStatus(std::vector<NodeSpec> nodes, std::vector<std::string> shardNames,
                             size_t users)
    : specs_(std::move(nodes)),
      nodes_(new NodeStatus[specs_.size()]),
      shardNames_(std::move(shardNames)),
      shardNodes_(shardNames_.size()),
      primary_(new std::atomic<int>[shardNames_.size()]),
      userMarks_(new std::atomic<int64_t>[std::max<size_t>(users, 1) * shardNames_.size()]) {
  size_t shards = shardNames_.size();
  for (size_t i = 0; i < shards; ++i) {
    primary_[i].store(-1);
  }
  for (size_t i = 0; i < std::max<size_t>(users, 1) * shards; ++i) {
    userMarks_[i].store(0);
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    const NodeSpec& spec = specs_[i];
    assert(spec.shard < shards);
    std::vector<size_t>& list = shardNodes_[spec.shard];
    if (spec.configured == NodeRole::Primary) {
      list.insert(list.begin(), i);
      // Until the first check says otherwise, the configured primary takes writes: the
      // router serves at once, and a primary that is down fails the first writes itself.
      primary_[spec.shard].store(int(i));
      nodes_[i].healthy.store(true);
      nodes_[i].role.store(NodeRole::Primary);
    } else {
      list.push_back(i);
    }
  }
}

void ClusterStatus::eject(size_t node, std::chrono::milliseconds ban) {
  NodeStatus& status = nodes_[node];
  status.bannedUntil.store(nowNanos() + std::chrono::nanoseconds(ban).count(),
                           std::memory_order_relaxed);
  status.healthy.store(false, std::memory_order_release);
  status.failures.fetch_add(1, std::memory_order_relaxed);
  int self = int(node);
  primary_[specs_[node].shard].compare_exchange_strong(self, -1, std::memory_order_acq_rel);
}

void ClusterStatus::markUserWrite(size_t user, size_t shard, int64_t at) {
  std::atomic<int64_t>& mark = userMarks_[user * shardCount() + shard];
  int64_t seen = mark.load(std::memory_order_relaxed);
  while (seen < at && !mark.compare_exchange_weak(seen, at, std::memory_order_acq_rel)) {
  }
}

}  // namespace shardline::replication
