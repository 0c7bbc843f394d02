// A pool of backends for one (node, database, user) on one worker.
//
// Pools live in their worker's PoolSet and are touched only from that worker's
// io_context, so they take no locks. A pool's size limit is its share of the
// configured max_size: max_size divided over the workers, at least one.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "replication/cluster_status.h"
#include "router/pool/backend.h"

namespace shardline::pool {

struct PoolKey {
  const NodeConfig* node;
  std::string database;
  const UserConfig* user;
};

struct Checkout {
  std::unique_ptr<Backend> backend;
  std::string errorBytes;  // when no backend: the ErrorResponse for the client
};

struct PoolStats {
  int open = 0;  // idle, in use and connecting
  int idle = 0;
  int waiting = 0;  // clients queued for a backend
  uint64_t checkouts = 0;
  uint64_t timeouts = 0;
};

class Pool {
 public:
  // `node` is the node's shared state: the pool counts its backends in use there and ejects
  // the node when it cannot be reached.
  Pool(PoolKey key, const PoolConfig& config, int maxSize, asio::ssl::context* tls,
       replication::NodeStatus& node, replication::ClusterStatus& status, Millis ban)
      : key_(std::move(key)),
        config_(config),
        max_(maxSize),
        tls_(tls),
        node_(node),
        status_(status),
        ban_(ban) {}

  // A backend opened with `startup` parameters for a client, waiting up to the
  // checkout timeout for one. Backends opened with other parameters are closed
  // to make room when the pool is full and they are idle.
  // With `queue` false, returns an empty Checkout (no backend, no error)
  // instead of waiting.
  awaitable<Checkout> acquire(const StartupParameters& startup, bool queue = true);
  // The most recently used idle backend opened with `startup`, if any; never waits.
  std::unique_ptr<Backend> takeIdle(const StartupParameters& startup);
  // Returns a clean, idle backend (status 'I', nothing unread) for reuse.
  void release(std::unique_ptr<Backend> backend);
  // Closes a backend that cannot be reused and frees its slot.
  void discard(std::unique_ptr<Backend> backend);
  // Closes idle backends past idle timeout or lifetime.
  void prune(Clock::time_point now);
  // Closes every idle backend (shutdown).
  void closeIdle();

  const PoolStats& stats() const { return stats_; }
  const PoolKey& key() const { return key_; }

 private:
  struct Waiter {
    std::unique_ptr<Backend> backend;  // handed over by release()
    bool slotFreed = false;            // a slot opened: the waiter may connect itself
    Timer* timer;
    const StartupParameters* startup;
  };

  awaitable<Checkout> connectNew(const StartupParameters& startup);
  bool wakeOne();
  std::unique_ptr<Backend> handOut(std::unique_ptr<Backend> backend) {
    node_.active.fetch_add(1, std::memory_order_relaxed);
    return backend;
  }

  PoolKey key_;
  const PoolConfig& config_;
  int max_;
  asio::ssl::context* tls_;
  std::vector<std::unique_ptr<Backend>> idle_;
  std::deque<Waiter*> waiters_;
  PoolStats stats_;
  replication::NodeStatus& node_;
  replication::ClusterStatus& status_;
  Millis ban_;
};

// All pools of one worker, by (node, database, user).
class PoolSet {
 public:
  PoolSet(const Config& config, int workers, asio::ssl::context* tls,
          replication::ClusterStatus& status)
      : config_(config), workers_(workers), tls_(tls), status_(status) {}
  Pool& get(const NodeConfig& node, const std::string& database, const UserConfig& user);
  void prune(Clock::time_point now);
  void closeIdle();
  template <typename F>
  void forEach(F&& f) const {
    for (const auto& [name, pool] : pools_) {
      f(*pool);
    }
  }

 private:
  const Config& config_;
  int workers_;
  asio::ssl::context* tls_;
  replication::ClusterStatus& status_;
  std::unordered_map<std::string, std::unique_ptr<Pool>> pools_;
};

}  // namespace shardline::pool
