// The daemon's runtime: worker threads, listeners, the cancel registry and
// graceful shutdown.
//
// Each Worker owns an io_context run by one thread; client sessions and
// their pools live on one worker. The Server and the CancelRegistry are
// shared by all threads; their shared parts are guarded by a mutex that is
// taken per connection, never per query.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "replication/cluster_status.h"
#include "replication/health_monitor.h"
#include "replication/read_balancer.h"
#include "router/asio.h"
#include "router/config.h"
#include "router/pool/pool.h"
#include "router/session/client_login.h"
#include "router/session/session_list.h"
#include "router/sql/plan_cache.h"
#include "shardmap/map.h"

namespace boost::asio::ssl {
class context;
}

namespace shardline {

namespace session {
class ClientSession;
}

// Maps the (pid, secret) pairs the router gave clients to their sessions.
class CancelRegistry {
 public:
  void add(int32_t pid, int32_t secret, std::weak_ptr<session::ClientSession> session,
           class Worker* worker);
  void remove(int32_t pid, int32_t secret);
  // Posts a cancel to the session's worker when the key is known.
  void cancel(int32_t pid, int32_t secret);

 private:
  struct Entry {
    std::weak_ptr<session::ClientSession> session;
    Worker* worker;
  };
  std::mutex mutex_;
  std::unordered_map<uint64_t, Entry> entries_;  // guarded by mutex_
};

class Worker {
 public:
  Worker(int index, const Config& config, const shardmap::ShardMap& map, int workers,
         asio::ssl::context* serverTls, asio::ssl::context* backendTls, CancelRegistry& cancels,
         std::atomic<uint64_t>& ddlGeneration, replication::ClusterStatus& status);

  asio::io_context& io() { return io_; }
  const Config& config() const { return config_; }
  const shardmap::ShardMap& map() const { return map_; }
  // Whether statements must be analyzed: to pick a shard (the map names tables and has more
  // than one shard), or to send reads to replicas. Otherwise everything goes to the default
  // shard's primary.
  bool routes() const { return routes_; }
  // The node that takes a shard's writes now, or null while none is reachable.
  const NodeConfig* primaryOf(shardmap::ShardIndex shard) const {
    int node = status_.primaryOf(shard);
    return node < 0 ? nullptr : &config_.nodes[size_t(node)];
  }
  const NodeConfig& node(size_t index) const { return config_.nodes[index]; }
  replication::ClusterStatus& status() { return status_; }
  replication::ReadBalancer& balancer() { return balancer_; }
  sql::PlanCache& plans() { return plans_; }
  // Column names of sharded tables in catalog order, learnt from Postgres to route INSERTs
  // without a column list; cleared when DDL passes through this worker.
  // DDL on any worker makes every worker forget (an atomic read per lookup, no lock).
  std::map<shardmap::QualifiedName, std::vector<std::string>>& tableColumns() {
    refreshCatalog();
    return tableColumns_;
  }
  // Whether a function of that name may write (a volatile one outside pg_catalog), learnt
  // from Postgres for reads that call it; forgotten with the columns.
  std::unordered_map<std::string, bool>& functionWrites() {
    refreshCatalog();
    return functionWrites_;
  }
  // Whether some shard has replicas: reads may leave the primary.
  bool hasReplicas() const { return hasReplicas_; }
  // Called when DDL passes through this worker.
  void forgetColumns() {
    ddlGeneration_.fetch_add(1, std::memory_order_acq_rel);
    tableColumns_.clear();
    functionWrites_.clear();
  }
  pool::PoolSet& pools() { return pools_; }
  session::LoginTable& logins() { return logins_; }
  asio::ssl::context* serverTls() const { return serverTls_; }
  CancelRegistry& cancels() { return cancels_; }
  int index() const { return index_; }

  // Sessions on this worker, for shutdown; touched on this worker only. A session leaves
  // when it ends.
  session::SessionList sessions;

  void start();
  void join();

 private:
  awaitable<void> janitor();
  void refreshCatalog() {
    uint64_t now = ddlGeneration_.load(std::memory_order_acquire);
    if (now != columnsGeneration_) {
      tableColumns_.clear();
      functionWrites_.clear();
      columnsGeneration_ = now;
    }
  }

  int index_;
  const Config& config_;
  const shardmap::ShardMap& map_;
  bool routes_;
  replication::ClusterStatus& status_;  // the server's
  replication::ReadBalancer balancer_;
  sql::PlanCache plans_;
  std::map<shardmap::QualifiedName, std::vector<std::string>> tableColumns_;
  std::unordered_map<std::string, bool> functionWrites_;
  uint64_t columnsGeneration_ = 0;
  bool hasReplicas_ = false;
  session::LoginTable logins_;
  // One thread runs it, and a socket of this worker is used from that thread alone (others
  // post to it), so Asio's per-socket reactor locks are left out.
  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  pool::PoolSet pools_;
  asio::ssl::context* serverTls_;
  CancelRegistry& cancels_;
  std::atomic<uint64_t>& ddlGeneration_;  // the server's
  std::thread thread_;
  std::unique_ptr<asio::executor_work_guard<asio::io_context::executor_type>> work_;
};

class Server {
 public:
  // Requires: every shard of `map` has a primary in `config`.
  Server(Config config, std::shared_ptr<const shardmap::ShardMap> map);
  ~Server();
  // Starts listeners and workers; returns an error message or empty.
  std::string start();
  // Blocks until SIGTERM or SIGINT has drained the router.
  void wait();

 private:
  awaitable<void> acceptTcp(TcpAcceptor& acceptor);
  awaitable<void> acceptUnix(LocalAcceptor& acceptor);
  void dispatch(std::unique_ptr<net::Transport> transport, Worker& worker);
  Worker& nextWorker();
  void drain();

  Config config_;
  std::shared_ptr<const shardmap::ShardMap> map_;
  std::shared_ptr<asio::ssl::context> serverTls_;
  std::shared_ptr<asio::ssl::context> backendTls_;
  CancelRegistry cancels_;
  std::vector<std::unique_ptr<Worker>> workers_;
  asio::io_context acceptIo_{1};
  std::unique_ptr<TcpAcceptor> tcp_;
  std::unique_ptr<LocalAcceptor> unix_;
  std::string unixPath_;
  std::atomic<uint64_t> nextId_{1};
  std::atomic<uint64_t> ddlGeneration_{0};  // counts DDL seen by any worker
  std::unique_ptr<replication::ClusterStatus> status_;
  std::unique_ptr<replication::HealthMonitor> monitor_;
  size_t nextWorker_ = 0;
};

}  // namespace shardline
