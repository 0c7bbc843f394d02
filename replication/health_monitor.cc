#include "replication/health_monitor.h"

// Boost 1.74's coroutine header uses std::exchange without including <utility>.
#include <utility>

#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <optional>

namespace shardline::replication {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

namespace {

// One round trip tells role, position and timeline. A primary's position is where WAL is
// inserted: with synchronous_commit off, a commit acknowledged a moment ago may not be
// written yet, and a replica must replay it to serve its client's reads. pg_walfile_name
// names the segment on the timeline WAL is inserted on; it is refused during recovery,
// hence the CASE.
constexpr const char* kCheckQuery =
    "SELECT pg_catalog.pg_is_in_recovery(), "
    "CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn() "
    "ELSE pg_catalog.pg_current_wal_insert_lsn() END, "
    "CASE WHEN pg_catalog.pg_is_in_recovery() THEN '00000000' "
    "ELSE pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()) END";

constexpr size_t kHistory = 256;  // primary samples kept to time a replica's lag

std::string firstLine(const char* text) {
  std::string out = text != nullptr ? text : "";
  size_t end = out.find('\n');
  return end == std::string::npos ? out : out.substr(0, end);
}

// A login the server refused (a wrong password, an unknown database, no pg_hba.conf line):
// the node answers, the monitor only cannot see its state. A server that is starting up,
// shutting down or recovering is down, though.
bool loginRefused(const std::string& error) {
  return error.find("FATAL:") != std::string::npos &&
         error.find("the database system is") == std::string::npos;
}

std::optional<NodeSample> readSample(PGresult* result) {
  if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1 ||
      PQnfields(result) != 3) {
    return std::nullopt;
  }
  NodeSample sample;
  sample.inRecovery = std::string_view(PQgetvalue(result, 0, 0)) == "t";
  if (!PQgetisnull(result, 0, 1)) {
    std::optional<Lsn> lsn = parseLsn(PQgetvalue(result, 0, 1));
    if (!lsn) {
      return std::nullopt;
    }
    sample.lsn = *lsn;
  }
  std::string_view file = PQgetvalue(result, 0, 2);
  if (file.size() < 8) {
    return std::nullopt;
  }
  sample.timeline = uint32_t(std::stoul(std::string(file.substr(0, 8)), nullptr, 16));
  return sample;
}

// One libpq connection to a node, driven by the monitor's io_context: every wait for the
// socket is an Asio wait bounded by the check's deadline.
class Probe {
 public:
  Probe(asio::io_context& io, std::vector<std::pair<std::string, std::string>> keywords)
      : socket_(io), timer_(io), keywords_(std::move(keywords)) {}
  ~Probe() { reset(); }

  // Connects if needed and runs the check; nullopt on failure, with error() saying why.
  awaitable<std::optional<NodeSample>> check(Clock::time_point deadline) {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      reset();
      bool connected = co_await connect(deadline);
      if (!connected) {
        reset();
        co_return std::nullopt;
      }
    }
    std::optional<NodeSample> sample = co_await query(deadline);
    if (!sample) {
      reset();  // a connection in an unknown state is not reused
    }
    co_return sample;
  }

  const std::string& error() const { return error_; }

 private:
  enum class Wait : uint8_t { Read, Write };

  awaitable<bool> connect(Clock::time_point deadline) {
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const auto& [key, value] : keywords_) {
      keys.push_back(key.c_str());
      values.push_back(value.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectStartParams(keys.data(), values.data(), 0);
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
      error_ = conn_ == nullptr ? "out of memory" : firstLine(PQerrorMessage(conn_));
      co_return false;
    }
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
      if (poll == PGRES_POLLING_FAILED) {
        error_ = firstLine(PQerrorMessage(conn_));
        co_return false;
      }
      bool ready =
          co_await wait(poll == PGRES_POLLING_READING ? Wait::Read : Wait::Write, deadline);
      if (!ready) {
        co_return false;
      }
      poll = PQconnectPoll(conn_);
    }
    PQsetnonblocking(conn_, 1);
    co_return true;
  }

  awaitable<std::optional<NodeSample>> query(Clock::time_point deadline) {
    if (PQsendQuery(conn_, kCheckQuery) == 0) {
      error_ = firstLine(PQerrorMessage(conn_));
      co_return std::nullopt;
    }
    int flushed = PQflush(conn_);
    while (flushed == 1) {
      bool ready = co_await wait(Wait::Write, deadline);
      if (!ready) {
        co_return std::nullopt;
      }
      flushed = PQflush(conn_);
    }
    std::optional<NodeSample> sample;
    bool failed = flushed < 0;
    while (!failed) {
      if (PQconsumeInput(conn_) == 0) {
        failed = true;
        break;
      }
      if (PQisBusy(conn_) != 0) {
        bool ready = co_await wait(Wait::Read, deadline);
        if (!ready) {
          co_return std::nullopt;
        }
        continue;
      }
      PGresult* result = PQgetResult(conn_);
      if (result == nullptr) {
        break;  // the query is done
      }
      if (!sample) {
        sample = readSample(result);
        if (!sample) {
          error_ = PQresultStatus(result) == PGRES_FATAL_ERROR
                       ? firstLine(PQresultErrorMessage(result))
                       : "unexpected answer to the health check";
          failed = true;
        }
      }
      PQclear(result);
    }
    if (failed) {
      if (error_.empty()) {
        error_ = firstLine(PQerrorMessage(conn_));
      }
      co_return std::nullopt;
    }
    co_return sample;
  }

  // Waits until libpq's socket is ready, up to `deadline`. The descriptor is registered
  // afresh for every wait: libpq may replace its socket while connecting.
  awaitable<bool> wait(Wait what, Clock::time_point deadline) {
    int fd = PQsocket(conn_);
    if (fd < 0) {
      error_ = "no socket";
      co_return false;
    }
    ErrorCode ec;
    socket_.assign(fd, ec);
    if (ec) {
      error_ = ec.message();
      co_return false;
    }
    uint64_t generation = ++generation_;
    timedOut_ = false;
    timer_.expires_at(deadline);
    timer_.async_wait([this, generation](const ErrorCode& timerError) {
      if (!timerError && generation == generation_ && socket_.is_open()) {
        timedOut_ = true;
        socket_.cancel();
      }
    });
    co_await socket_.async_wait(what == Wait::Read ? asio::posix::stream_descriptor::wait_read
                                                   : asio::posix::stream_descriptor::wait_write,
                                asio::redirect_error(use_awaitable, ec));
    ++generation_;
    timer_.cancel();
    socket_.release();
    if (timedOut_) {
      error_ = "no answer within the check timeout";
      co_return false;
    }
    if (ec) {
      error_ = ec.message();
      co_return false;
    }
    co_return true;
  }

  void reset() {
    if (socket_.is_open()) {
      socket_.release();
    }
    if (conn_ != nullptr) {
      PQfinish(conn_);
      conn_ = nullptr;
    }
  }

  asio::posix::stream_descriptor socket_;
  asio::steady_timer timer_;
  std::vector<std::pair<std::string, std::string>> keywords_;
  PGconn* conn_ = nullptr;
  uint64_t generation_ = 0;
  bool timedOut_ = false;
  std::string error_;
};

}  // namespace

int electPrimary(const std::vector<ElectionInput>& nodes, int current, uint32_t minTimeline) {
  int best = -1;
  uint32_t bestTimeline = 0;
  for (const ElectionInput& node : nodes) {
    if (!node.up || node.role != NodeRole::Primary || node.timeline < minTimeline) {
      continue;
    }
    bool newer = best == -1 || node.timeline > bestTimeline;
    bool keeps = node.timeline == bestTimeline && int(node.node) == current;
    if (newer || keeps) {
      best = int(node.node);
      bestTimeline = node.timeline;
    }
  }
  return best;
}

struct HealthMonitor::Impl {
  Impl(ClusterStatus& status, MonitorConfig config)
      : status(status),
        config(std::move(config)),
        history(status.size()),
        newestTimeline(status.shardCount(), 0),
        refused(status.size(), false),
        misplaced(status.size(), false) {
    for (size_t shard = 0; shard < status.shardCount(); ++shard) {
      announced.push_back(status.primaryOf(shard));
    }
    for (size_t i = 0; i < status.size(); ++i) {
      std::vector<std::pair<std::string, std::string>> keywords = this->config.login;
      keywords.emplace_back("host", status.spec(i).host);
      keywords.emplace_back("port", std::to_string(status.spec(i).port));
      keywords.emplace_back("application_name", "shardline health check");
      probes.push_back(std::make_unique<Probe>(io, std::move(keywords)));
    }
  }

  awaitable<void> watch(size_t node);
  void onSample(size_t node, const NodeSample& sample, int64_t startedAt);
  void onFailure(size_t node, const std::string& error);
  void elect(size_t shard);
  void updateLag(size_t shard);

  asio::io_context io{1};
  ClusterStatus& status;
  MonitorConfig config;
  std::vector<std::unique_ptr<Probe>> probes;
  // Per node, its samples while primary (position, when taken), oldest first.
  std::vector<std::deque<std::pair<Lsn, int64_t>>> history;
  std::vector<uint32_t> newestTimeline;  // by shard: the newest timeline a primary had
  std::vector<bool> refused;             // by node: its last check's login was refused
  std::vector<int> announced;            // by shard: the primary last logged
  std::vector<bool> misplaced;           // by node: its role differs from the configured one
};

HealthMonitor::HealthMonitor(ClusterStatus& status, MonitorConfig config)
    : impl_(std::make_unique<Impl>(status, std::move(config))) {}

HealthMonitor::~HealthMonitor() {
  stop();
}

void HealthMonitor::start() {
  for (size_t node = 0; node < impl_->status.size(); ++node) {
    asio::co_spawn(impl_->io, impl_->watch(node), asio::detached);
  }
  thread_ = std::thread([this] { impl_->io.run(); });
}

void HealthMonitor::stop() {
  impl_->io.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

awaitable<void> HealthMonitor::Impl::watch(size_t node) {
  asio::steady_timer pause(io);
  for (;;) {
    Clock::time_point start = Clock::now();
    int64_t startedAt = nowNanos();
    std::optional<NodeSample> sample = co_await probes[node]->check(start + config.timeout);
    if (sample) {
      onSample(node, *sample, startedAt);
    } else {
      onFailure(node, probes[node]->error());
    }
    pause.expires_at(start + config.interval);
    ErrorCode ec;
    co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

void HealthMonitor::Impl::onSample(size_t node, const NodeSample& sample, int64_t startedAt) {
  NodeStatus& st = status.node(node);
  refused[node] = false;
  const NodeSpec& spec = status.spec(node);
  NodeRole role = sample.inRecovery ? NodeRole::Replica : NodeRole::Primary;
  NodeRole was = st.role.exchange(role, std::memory_order_acq_rel);
  st.timeline.store(sample.timeline, std::memory_order_relaxed);
  st.lsn.store(sample.lsn, std::memory_order_release);
  st.sampledAt.store(startedAt, std::memory_order_release);
  if (role == NodeRole::Primary) {
    auto& samples = history[node];
    samples.emplace_back(sample.lsn, startedAt);
    if (samples.size() > kHistory) {
      samples.pop_front();
    }
  } else {
    history[node].clear();
  }
  if (role != spec.configured && !misplaced[node]) {
    spdlog::warn("node={} is configured as {} but Postgres says it is a {}: it is used as one",
                 spec.name, roleName(spec.configured), roleName(role));
  }
  misplaced[node] = role != spec.configured;
  bool banned = nowNanos() < st.bannedUntil.load(std::memory_order_relaxed);
  if (!banned && !st.healthy.load(std::memory_order_acquire)) {
    spdlog::info("node={} passed its health check: up as {} at {}", spec.name, roleName(role),
                 formatLsn(sample.lsn));
    st.healthy.store(true, std::memory_order_release);
  } else if (was != role && was != NodeRole::Unknown) {
    spdlog::warn("node={} is now a {} (was {})", spec.name, roleName(role), roleName(was));
  }
  elect(spec.shard);
  updateLag(spec.shard);
}

void HealthMonitor::Impl::onFailure(size_t node, const std::string& error) {
  NodeStatus& st = status.node(node);
  if (loginRefused(error)) {
    // Ejecting every node because the checks' own login is wrong would stop all traffic:
    // the node keeps what it had (a replica never checked gets no reads).
    if (!refused[node]) {
      spdlog::error("node={} refuses the health check's login, its state is not followed: {}",
                    status.spec(node).name, error);
      refused[node] = true;
    }
    return;
  }
  refused[node] = false;
  bool wasUp = st.healthy.load(std::memory_order_acquire);
  if (wasUp) {
    spdlog::warn("node={} failed its health check, out of rotation: {}", status.spec(node).name,
                 error);
  }
  status.eject(node, config.ban);
  st.role.store(NodeRole::Unknown, std::memory_order_release);
  history[node].clear();
  elect(status.spec(node).shard);
}

void HealthMonitor::Impl::elect(size_t shard) {
  std::vector<ElectionInput> inputs;
  for (size_t node : status.nodesOf(shard)) {
    const NodeStatus& st = status.node(node);
    inputs.push_back({node, st.healthy.load(std::memory_order_acquire),
                      st.role.load(std::memory_order_acquire),
                      st.timeline.load(std::memory_order_relaxed)});
  }
  int current = status.primaryOf(shard);
  int chosen = electPrimary(inputs, current, newestTimeline[shard]);
  if (chosen >= 0) {
    newestTimeline[shard] =
        std::max(newestTimeline[shard], status.node(size_t(chosen)).timeline.load());
  }
  if (chosen != current) {
    status.setPrimary(shard, chosen);
  }
  // Announced here whoever removed the primary (a worker's failed connect ejects it too).
  if (chosen != announced[shard]) {
    if (chosen >= 0) {
      spdlog::warn("shard={}: writes go to node={} (timeline {})", status.shardName(shard),
                   status.spec(size_t(chosen)).name, newestTimeline[shard]);
    } else {
      spdlog::error("shard={}: no reachable primary; writes fail until one is back",
                    status.shardName(shard));
    }
    announced[shard] = chosen;
  }
}

void HealthMonitor::Impl::updateLag(size_t shard) {
  int primary = status.primaryOf(shard);
  if (primary < 0 || history[size_t(primary)].empty()) {
    return;  // nothing to measure against: replicas keep their last verdict
  }
  const auto& samples = history[size_t(primary)];
  Lsn newest = samples.back().first;
  int64_t now = nowNanos();
  const LagLimit& limit = config.lagLimits.at(shard);
  for (size_t node : status.nodesOf(shard)) {
    NodeStatus& st = status.node(node);
    if (int(node) == primary || st.role.load(std::memory_order_acquire) != NodeRole::Replica) {
      continue;
    }
    Lsn replayed = st.lsn.load(std::memory_order_acquire);
    int64_t bytes = replayed >= newest ? 0 : int64_t(newest - replayed);
    int64_t millis = 0;
    if (bytes > 0) {
      // Behind since the oldest primary sample it has not replayed.
      auto first = std::find_if(samples.begin(), samples.end(),
                                [&](const auto& s) { return s.first > replayed; });
      millis = (now - first->second) / 1000000;
    }
    st.lagBytes.store(bytes, std::memory_order_relaxed);
    st.lagMillis.store(millis, std::memory_order_relaxed);
    bool over =
        (limit.bytes > 0 && bytes > limit.bytes) || (limit.millis > 0 && millis > limit.millis);
    bool was = st.lagging.exchange(over, std::memory_order_acq_rel);
    if (over != was) {
      spdlog::warn("node={} {} its lag limit: {} bytes, {} ms behind", status.spec(node).name,
                   over ? "is over" : "is back within", bytes, millis);
    }
  }
}

}  // namespace shardline::replication
