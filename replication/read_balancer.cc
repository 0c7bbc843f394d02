#include "replication/read_balancer.h"

namespace shardline::replication {

namespace {

// A 64-bit mix (splitmix64's finalizer): spreads a client hash and a node over all bits.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

ReadBalancer::ReadBalancer(const ClusterStatus& status)
    : status_(status),
      cursor_(status.shardCount(), 0),
      current_(status.shardCount()),
      random_(std::random_device{}()) {
  for (size_t shard = 0; shard < status.shardCount(); ++shard) {
    current_[shard].assign(status.nodesOf(shard).size(), 0);
  }
}

int ReadBalancer::pick(size_t shard, const ReadRule& rule, Freshness fresh, uint64_t clientHash,
                       uint64_t excluded) {
  const std::vector<size_t>& nodes = status_.nodesOf(shard);
  int primary = status_.primaryOf(shard);
  if (rule.policy == ReadPolicy::Primary || fresh.primaryOnly()) {
    return primary;
  }

  // The readers: replicas that are up, within their lag limit and have replayed what the
  // client must see; the primary too when the rule includes it.
  candidates_.clear();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if ((excluded >> i) & 1) {
      continue;
    }
    const NodeStatus& node = status_.node(nodes[i]);
    bool isPrimary = int(nodes[i]) == primary;
    bool fits = isPrimary
                    ? rule.includePrimary
                    : node.readable() && node.lsn.load(std::memory_order_acquire) >= fresh.minLsn;
    if (fits) {
      candidates_.push_back(i);
    }
  }
  if (candidates_.empty()) {
    return primary;
  }

  size_t chosen = candidates_.front();
  switch (rule.policy) {
    case ReadPolicy::Primary:
    case ReadPolicy::RoundRobin:
      chosen = candidates_[cursor_[shard]++ % candidates_.size()];
      break;
    case ReadPolicy::Random:
      chosen =
          candidates_[std::uniform_int_distribution<size_t>(0, candidates_.size() - 1)(random_)];
      break;
    case ReadPolicy::LeastConnections: {
      int32_t fewest = INT32_MAX;
      size_t start = cursor_[shard]++;  // ties go round
      for (size_t k = 0; k < candidates_.size(); ++k) {
        size_t i = candidates_[(start + k) % candidates_.size()];
        int32_t active = status_.node(nodes[i]).active.load(std::memory_order_relaxed);
        if (active < fewest) {
          fewest = active;
          chosen = i;
        }
      }
      break;
    }
    case ReadPolicy::Weighted: {
      // Smooth weighted round robin: every candidate gains its weight, the richest is chosen
      // and pays the total back. Weights 5:1:1 give a a b a c a a, not a a a a a b c.
      std::vector<int64_t>& current = current_[shard];
      int64_t total = 0;
      int64_t best = INT64_MIN;
      for (size_t i : candidates_) {
        int64_t weight = status_.spec(nodes[i]).weight;
        current[i] += weight;
        total += weight;
        if (current[i] > best) {
          best = current[i];
          chosen = i;
        }
      }
      current[chosen] -= total;
      break;
    }
    case ReadPolicy::ClientHash: {
      // Rendezvous hashing: a client keeps its node while that node stays a candidate, and
      // only the clients of a node that leaves move.
      uint64_t best = 0;
      for (size_t i : candidates_) {
        uint64_t score = mix(clientHash ^ mix(nodes[i] + 1));
        if (score >= best) {
          best = score;
          chosen = i;
        }
      }
      break;
    }
  }
  return int(nodes[chosen]);
}

}  // namespace shardline::replication
