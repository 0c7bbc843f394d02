#include "router/pool/pool.h"

#include <spdlog/spdlog.h>

namespace shardline::pool {

namespace {
constexpr auto kCheckIdleAfter = std::chrono::milliseconds(100);
}  // namespace

// The most recently used idle backend opened with `startup`, if any.
std::unique_ptr<Backend> Pool::takeIdle(const StartupParameters& startup) {
  for (size_t i = idle_.size(); i-- > 0;) {
    if (idle_[i]->startupParameters() != startup) {
      continue;
    }
    std::unique_ptr<Backend> backend = std::move(idle_[i]);
    idle_.erase(idle_.begin() + ptrdiff_t(i));
    auto now = Clock::now();
    // A backend idle for a while may have been terminated; one of the primary just used is
    // not checked, to keep the hot path free of an extra system call. A replica's always is:
    // a read it cannot serve goes to another node only if nothing was sent to it yet.
    bool recent = now - backend->lastUsed < kCheckIdleAfter &&
                  status_.primaryOf(status_.spec(key_.node->index).shard) == int(key_.node->index);
    bool checked = recent || !backend->idleIsBroken();
    if (checked && now - backend->createdAt() < config_.lifetime) {
      return handOut(std::move(backend));
    }
    backend->close();
    --stats_.open;
    return takeIdle(startup);
  }
  return nullptr;
}

awaitable<Checkout> Pool::acquire(const StartupParameters& startup, bool queue) {
  ++stats_.checkouts;
  if (auto backend = takeIdle(startup)) {
    co_return Checkout{std::move(backend), {}};
  }
  if (stats_.open >= max_ && !idle_.empty()) {
    // Full, but some idle backend serves other startup parameters: make room.
    idle_.front()->close();
    idle_.erase(idle_.begin());
    --stats_.open;
  }
  if (stats_.open < max_) {
    co_return co_await connectNew(startup);
  }
  if (!queue) {
    co_return Checkout{};
  }

  // Every backend is busy: queue until one is released, a slot frees, or time runs out.
  Timer timer(co_await asio::this_coro::executor);
  timer.expires_after(config_.checkoutTimeout);
  Waiter waiter{nullptr, false, &timer, &startup};
  waiters_.push_back(&waiter);
  ErrorCode ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  if (!waiter.backend && !waiter.slotFreed) {
    std::erase(waiters_, &waiter);  // timed out; release() and wakeOne() dequeue whom they wake
  }
  if (waiter.backend) {
    co_return Checkout{handOut(std::move(waiter.backend)), {}};
  }
  if (waiter.slotFreed) {
    co_return co_await connectNew(startup);
  }
  ++stats_.timeouts;
  std::string error;
  wire::appendError(error, "53300",
                    "shardline: no backend available for node " + key_.node->name +
                        " within checkout_timeout (" +
                        std::to_string(config_.checkoutTimeout.count()) + " ms)");
  co_return Checkout{nullptr, std::move(error)};
}

awaitable<Checkout> Pool::connectNew(const StartupParameters& startup) {
  ++stats_.open;
  auto result =
      co_await Backend::connect(*key_.node, key_.database, *key_.user, startup, config_, tls_);
  if (!result.backend) {
    --stats_.open;
    wakeOne();
    if (result.unreachable) {
      // Refused, timed out or cut: the node is out of rotation until a check passes.
      if (node_.healthy.load(std::memory_order_relaxed)) {
        spdlog::warn("node={} unreachable, out of rotation: {}", key_.node->name, result.reason);
      }
      status_.eject(key_.node->index, ban_);
    }
    co_return Checkout{nullptr, std::move(result.errorBytes)};
  }
  spdlog::debug("pool node={} db={} user={}: opened backend pid {}", key_.node->name, key_.database,
                key_.user->name, result.backend->pid());
  co_return Checkout{handOut(std::move(result.backend)), {}};
}

void Pool::release(std::unique_ptr<Backend> backend) {
  node_.active.fetch_sub(1, std::memory_order_relaxed);
  backend->lastUsed = Clock::now();
  while (!waiters_.empty()) {
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    if (waiter->backend || waiter->slotFreed) {
      continue;
    }
    if (*waiter->startup == backend->startupParameters()) {
      waiter->backend = std::move(backend);  // counted again when the waiter takes it
    } else {
      // The waiter needs other startup parameters: it opens its own backend.
      backend->close();
      --stats_.open;
      waiter->slotFreed = true;
    }
    waiter->timer->cancel();
    return;
  }
  idle_.push_back(std::move(backend));
}

void Pool::discard(std::unique_ptr<Backend> backend) {
  node_.active.fetch_sub(1, std::memory_order_relaxed);
  backend->close();
  backend.reset();
  --stats_.open;
  wakeOne();
}

bool Pool::wakeOne() {
  while (!waiters_.empty()) {
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    if (!waiter->backend && !waiter->slotFreed) {
      waiter->slotFreed = true;
      waiter->timer->cancel();
      return true;
    }
  }
  return false;
}

void Pool::prune(Clock::time_point now) {
  std::erase_if(idle_, [&](std::unique_ptr<Backend>& backend) {
    bool expired = now - backend->lastUsed > config_.idleTimeout ||
                   now - backend->createdAt() > config_.lifetime;
    if (expired && stats_.open > config_.minSize) {
      backend->close();
      --stats_.open;
      return true;
    }
    return false;
  });
  stats_.idle = int(idle_.size());
  stats_.waiting = int(waiters_.size());
}

void Pool::closeIdle() {
  for (auto& backend : idle_) {
    backend->close();
    --stats_.open;
  }
  idle_.clear();
}

Pool& PoolSet::get(const NodeConfig& node, const std::string& database, const UserConfig& user) {
  std::string name = node.name;
  name += '\0';
  name += database;
  name += '\0';
  name += user.name;
  auto it = pools_.find(name);
  if (it == pools_.end()) {
    int share = std::max(1, config_.pool.maxSize / workers_);
    auto pool = std::make_unique<Pool>(PoolKey{&node, database, &user}, config_.pool, share, tls_,
                                       status_.node(node.index), status_, config_.health.ban);
    it = pools_.emplace(std::move(name), std::move(pool)).first;
  }
  return *it->second;
}

void PoolSet::prune(Clock::time_point now) {
  for (auto& [name, pool] : pools_) {
    pool->prune(now);
  }
}

void PoolSet::closeIdle() {
  for (auto& [name, pool] : pools_) {
    pool->closeIdle();
  }
}

}  // namespace shardline::pool
