#include "router/server.h"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

#include <array>
#include <filesystem>
#include <functional>
#include <future>

#include "router/net/tls.h"
#include "router/session/client_session.h"

namespace shardline {

namespace {
uint64_t cancelKey(int32_t pid, int32_t secret) {
  return (uint64_t(uint32_t(pid)) << 32) | uint32_t(secret);
}
}  // namespace

void CancelRegistry::add(int32_t pid, int32_t secret, std::weak_ptr<session::ClientSession> session,
                         Worker* worker) {
  std::lock_guard lock(mutex_);
  entries_[cancelKey(pid, secret)] = Entry{std::move(session), worker};
}

void CancelRegistry::remove(int32_t pid, int32_t secret) {
  std::lock_guard lock(mutex_);
  entries_.erase(cancelKey(pid, secret));
}

void CancelRegistry::cancel(int32_t pid, int32_t secret) {
  Entry entry;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(cancelKey(pid, secret));
    if (it == entries_.end()) {
      return;
    }
    entry = it->second;
  }
  asio::post(entry.worker->io(), [session = entry.session] {
    if (auto live = session.lock()) {
      live->cancelCurrentQuery();
    }
  });
}

Worker::Worker(int index, const Config& config, const shardmap::ShardMap& map, int workers,
               asio::ssl::context* serverTls, asio::ssl::context* backendTls,
               CancelRegistry& cancels, std::atomic<uint64_t>& ddlGeneration,
               replication::ClusterStatus& status)
    : index_(index),
      config_(config),
      map_(map),
      routes_(map.shards().size() > 1 && !map.tables().empty()),
      status_(status),
      balancer_(status),
      pools_(config, workers, backendTls, status),
      serverTls_(serverTls),
      cancels_(cancels),
      ddlGeneration_(ddlGeneration) {
  for (size_t shard = 0; shard < status.shardCount(); ++shard) {
    hasReplicas_ = hasReplicas_ || status.hasReplicas(shard);
  }
  routes_ = routes_ || hasReplicas_;
}

void Worker::start() {
  work_ = std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(
      io_.get_executor());
  asio::co_spawn(io_, janitor(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

void Worker::join() {
  work_.reset();
  if (thread_.joinable()) {
    thread_.join();
  }
}

awaitable<void> Worker::janitor() {
  Timer timer(io_);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    ErrorCode ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec || io_.stopped()) {
      co_return;
    }
    pools_.prune(pool::Clock::now());
    logins_.prune();
    for (session::ClientSession& session : sessions) {
      session.parkIfIdle();
    }
    if (!work_ && sessions.empty()) {
      pools_.closeIdle();
      co_return;
    }
  }
}

namespace {

// The nodes as the health monitor sees them: shard by index in the map.
std::vector<replication::NodeSpec> nodeSpecs(const Config& config, const shardmap::ShardMap& map) {
  std::vector<replication::NodeSpec> specs;
  for (const NodeConfig& node : config.nodes) {
    replication::NodeSpec spec;
    spec.name = node.name;
    for (size_t i = 0; i < map.shards().size(); ++i) {
      if (map.shards()[i].name == node.shard) {
        spec.shard = i;
      }
    }
    spec.configured =
        node.role == "primary" ? replication::NodeRole::Primary : replication::NodeRole::Replica;
    spec.host = node.host;
    spec.port = node.port;
    spec.weight = node.weight;
    specs.push_back(std::move(spec));
  }
  return specs;
}

replication::MonitorConfig monitorConfig(const Config& config, size_t shards) {
  replication::MonitorConfig out;
  out.interval = config.health.interval;
  out.timeout = config.health.timeout;
  out.ban = config.health.ban;
  out.lagLimits.assign(shards, {config.reads.maxLagBytes, config.reads.maxLag.count()});
  const UserConfig* user = config.health.user.empty()
                               ? (config.users.empty() ? nullptr : &config.users.front())
                               : config.findUser(config.health.user);
  std::string name =
      config.health.user.empty() && user != nullptr ? user->name : config.health.user;
  std::string password = config.health.password;
  if (password.empty() && user != nullptr) {
    password = user->backendPassword;
  }
  static constexpr std::array<std::string_view, 4> kSslModes = {"disable", "prefer", "require",
                                                                "verify-full"};
  out.login = {{"user", name},
               {"dbname", config.health.database},
               {"sslmode", std::string(kSslModes[size_t(config.pool.tls)])},
               {"connect_timeout",
                std::to_string(std::max<int64_t>(1, config.health.timeout.count() / 1000))}};
  if (!password.empty()) {
    out.login.emplace_back("password", password);
  }
  if (!config.pool.tlsRootCert.empty()) {
    out.login.emplace_back("sslrootcert", config.pool.tlsRootCert);
  }
  return out;
}

}  // namespace

Server::Server(Config config, std::shared_ptr<const shardmap::ShardMap> map)
    : config_(std::move(config)), map_(std::move(map)) {
  std::vector<std::string> shards;
  for (const shardmap::Shard& shard : map_->shards()) {
    shards.push_back(shard.name);
  }
  status_ = std::make_unique<replication::ClusterStatus>(nodeSpecs(config_, *map_),
                                                         std::move(shards), config_.users.size());
}

Server::~Server() {
  if (!unixPath_.empty()) {
    ::unlink(unixPath_.c_str());
  }
}

std::string Server::start() {
  std::string error;
  if (!config_.tls.certFile.empty()) {
    serverTls_ = net::makeServerTlsContext(config_.tls.certFile, config_.tls.keyFile, error);
    if (!serverTls_) {
      return "tls: " + error;
    }
  }
  if (config_.pool.tls != BackendTls::Disable) {
    backendTls_ = net::makeClientTlsContext(config_.pool.tlsRootCert, error);
    if (!backendTls_) {
      return "pool.tls_root_cert: " + error;
    }
  }

  try {
    if (!config_.listen.host.empty()) {
      Tcp::endpoint endpoint(asio::ip::make_address(config_.listen.host), config_.listen.port);
      tcp_ = std::make_unique<TcpAcceptor>(acceptIo_);
      tcp_->open(endpoint.protocol());
      tcp_->set_option(TcpAcceptor::reuse_address(true));
      tcp_->bind(endpoint);
      tcp_->listen(config_.listen.backlog);
    }
    if (!config_.listen.unixSocketDir.empty()) {
      unixPath_ = config_.listen.unixSocketDir + "/.s.PGSQL." + std::to_string(config_.listen.port);
      ::unlink(unixPath_.c_str());
      unix_ = std::make_unique<LocalAcceptor>(acceptIo_, Local::endpoint(unixPath_));
      std::filesystem::permissions(unixPath_, std::filesystem::perms::all);
    }
  } catch (const std::exception& e) {
    return std::string("cannot listen: ") + e.what();
  }

  int count = config_.workers;
  for (int i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, config_, *map_, count, serverTls_.get(),
                                                backendTls_.get(), cancels_, ddlGeneration_,
                                                *status_));
    workers_.back()->start();
  }
  monitor_ = std::make_unique<replication::HealthMonitor>(
      *status_, monitorConfig(config_, map_->shards().size()));
  monitor_->start();
  if (tcp_) {
    asio::co_spawn(acceptIo_, acceptTcp(*tcp_), asio::detached);
    spdlog::info("listening on {}:{}", config_.listen.host, config_.listen.port);
  }
  if (unix_) {
    asio::co_spawn(acceptIo_, acceptUnix(*unix_), asio::detached);
    spdlog::info("listening on {}", unixPath_);
  }
  return {};
}

Worker& Server::nextWorker() {
  Worker& worker = *workers_[nextWorker_];
  nextWorker_ = (nextWorker_ + 1) % workers_.size();
  return worker;
}

void Server::dispatch(std::unique_ptr<net::Transport> transport, Worker& worker) {
  uint64_t id = nextId_++;
  auto client = std::make_shared<session::ClientSession>(worker, std::move(transport), id);
  asio::co_spawn(
      worker.io(), [client] { return client->run(); }, asio::detached);
}

awaitable<void> Server::acceptTcp(TcpAcceptor& acceptor) {
  for (;;) {
    Worker& worker = nextWorker();
    ErrorCode ec;
    TcpSocket socket(worker.io());
    co_await acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    dispatch(net::makeTcpTransport(std::move(socket)), worker);
  }
}

awaitable<void> Server::acceptUnix(LocalAcceptor& acceptor) {
  for (;;) {
    Worker& worker = nextWorker();
    ErrorCode ec;
    LocalSocket socket(worker.io());
    co_await acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    dispatch(net::makeUnixTransport(std::move(socket)), worker);
  }
}

// Stops accepting, asks every session to end after its transaction, and
// closes whatever is left when the drain timeout passes.
void Server::drain() {
  spdlog::info("shutting down: no new connections, draining for up to {} ms",
               config_.timeouts.shutdownDrain.count());
  ErrorCode ignored;
  if (tcp_) {
    tcp_->close(ignored);
  }
  if (unix_) {
    unix_->close(ignored);
  }
  for (auto& worker : workers_) {
    asio::post(worker->io(), [w = worker.get()] {
      for (session::ClientSession& session : w->sessions) {
        session.requestClose();
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + config_.timeouts.shutdownDrain;
  for (auto& worker : workers_) {
    for (;;) {
      std::promise<size_t> left;
      auto future = left.get_future();
      asio::post(worker->io(), [w = worker.get(), &left] { left.set_value(w->sessions.size()); });
      if (future.get() == 0 || std::chrono::steady_clock::now() > deadline) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // Whoever is still connected at the deadline is told, as Postgres tells at a fast shutdown.
  for (auto& worker : workers_) {
    asio::post(worker->io(), [w = worker.get()] {
      for (session::ClientSession& session : w->sessions) {
        asio::co_spawn(
            w->io(), [live = session.shared_from_this()] { return live->terminate(); },
            asio::detached);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (auto& worker : workers_) {
    worker->io().stop();
    worker->join();
  }
  if (monitor_) {
    monitor_->stop();
  }
  spdlog::info("shut down");
}

void Server::wait() {
  // SIGHUP asks for a reload elsewhere; here it must at least not kill the router.
  asio::signal_set hangups(acceptIo_, SIGHUP);
  std::function<void(ErrorCode, int)> onHangup = [&](ErrorCode ec, int) {
    if (!ec) {
      spdlog::info("SIGHUP received: configuration reload is not supported yet; ignored");
      hangups.async_wait(onHangup);
    }
  };
  hangups.async_wait(onHangup);
  asio::signal_set signals(acceptIo_, SIGTERM, SIGINT);
  signals.async_wait([this](ErrorCode ec, int) {
    if (!ec) {
      drain();
      acceptIo_.stop();
    }
  });
  acceptIo_.run();
}

}  // namespace shardline
