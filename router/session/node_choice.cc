// Which node of a shard a statement runs on: the primary for anything that may write, a
// reader by the read policy otherwise, never a replica that has not replayed the client's own
// writes; and another reader when the chosen one cannot be reached.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "router/route/route.h"
#include "router/server.h"
#include "router/session/client_session.h"

namespace shardline::session {

namespace {

// A shard without a reachable primary refuses writes at once rather than letting clients wait.
constexpr std::string_view kNoPrimary = "57P03";  // cannot_connect_now

}  // namespace

NodeNeed ClientSession::needOf(const Target& target) const {
  if (target.toPrimary || worker_.config().pool.mode == PoolMode::Session || pinned_) {
    return NodeNeed::Primary;  // a session keeps its one backend for every statement
  }
  if (beginDeferred()) {
    // Postgres refuses writes in a READ ONLY transaction on any node, so a replica serves
    // it faithfully; any other transaction may write.
    return routing_->deferredReadOnly ? NodeNeed::Read : NodeNeed::Primary;
  }
  if (txStatus_ != 'I') {
    return NodeNeed::Primary;
  }
  if (target.toReplica) {
    return NodeNeed::Replica;
  }
  return target.reads ? NodeNeed::Read : NodeNeed::Primary;
}

uint64_t ClientSession::clientHash() {
  uint64_t& hash = routing().clientHash;
  if (hash == 0) {
    std::string source = login_->user->name;
    if (worker_.config().reads.clientHash == ClientHashOf::Address) {
      source = client_->peer();
      size_t colon = source.rfind(':');
      if (colon != std::string::npos && source.find(':') == colon) {
        source.resize(colon);  // the address without the port; IPv6 keeps its colons
      }
    }
    hash = std::hash<std::string>()(source) | 1;
  }
  return hash;
}

bool ClientSession::onReplica() const {
  return backend_ && int(backend_->node().index) != worker_.status().primaryOf(shard_);
}

size_t ClientSession::userIndex() const {
  return size_t(login_->user - worker_.config().users.data());
}

WriteMark& ClientSession::writeMark(shardmap::ShardIndex shard) {
  std::unique_ptr<WriteMark[]>& marks = routing().writeMarks;
  if (!marks) {
    marks = std::make_unique<WriteMark[]>(worker_.map().shards().size());
  }
  return marks[shard];
}

replication::Freshness ClientSession::freshness(shardmap::ShardIndex shard) {
  const ReadsConfig& reads = worker_.config().reads;
  if (reads.readYourWrites == ReadYourWrites::Off) {
    return {};
  }
  replication::ClusterStatus& status = worker_.status();
  if (reads.readYourWrites == ReadYourWrites::User) {
    int64_t userMark = status.userWriteMark(userIndex(), shard);
    if (userMark != 0 && writeMark(shard).at < userMark) {
      writeMark(shard) = WriteMark{userMark, 0};
    }
  }
  if (!routing().writeMarks || writeMark(shard).at == 0) {
    return {};
  }
  WriteMark& mark = writeMark(shard);
  if (mark.lsn == 0) {
    // A primary position read by a check that started after the write was acknowledged is
    // at or past the write: a replica that has replayed it has the write.
    int primary = status.primaryOf(shard);
    if (primary >= 0) {
      const replication::NodeStatus& node = status.node(size_t(primary));
      int64_t sampledAt = node.sampledAt.load(std::memory_order_acquire);
      replication::Lsn lsn = node.lsn.load(std::memory_order_acquire);
      if (sampledAt > mark.at && lsn != 0) {
        mark.lsn = lsn;
      }
    }
  }
  if (mark.lsn == 0) {
    return {replication::Freshness::kPrimaryOnly};
  }
  return {mark.lsn};
}

void ClientSession::noteWrite(shardmap::ShardIndex shard) {
  const ReadsConfig& reads = worker_.config().reads;
  if (reads.readYourWrites == ReadYourWrites::Off || !worker_.status().hasReplicas(shard)) {
    return;
  }
  int64_t now = replication::nowNanos();
  writeMark(shard) = WriteMark{now, 0};
  if (reads.readYourWrites == ReadYourWrites::User) {
    worker_.status().markUserWrite(userIndex(), shard, now);
  }
}

const NodeConfig* ClientSession::nodeFor(shardmap::ShardIndex shard, NodeNeed need,
                                         uint64_t excluded, std::string& error) {
  replication::ClusterStatus& status = worker_.status();
  int node = status.primaryOf(shard);
  if (need != NodeNeed::Primary && status.hasReplicas(shard)) {
    const std::string& shardName = worker_.map().shard(shard).name;
    replication::ReadRule rule = worker_.config().reads.ruleFor(shardName, login_->database);
    if (need == NodeNeed::Replica && rule.policy == replication::ReadPolicy::Primary) {
      rule.policy = replication::ReadPolicy::RoundRobin;  // a role=replica hint asks for one
    }
    replication::Freshness fresh =
        need == NodeNeed::Read ? freshness(shard) : replication::Freshness{};
    uint64_t hash = rule.policy == replication::ReadPolicy::ClientHash ? clientHash() : 0;
    node = worker_.balancer().pick(shard, rule, fresh, hash, excluded);
  }
  if (node < 0) {
    error = errorResponse(kNoPrimary, "shardline: shard " + worker_.map().shard(shard).name +
                                          " has no reachable primary; writes fail until it is back "
                                          "or a replica is promoted");
    return nullptr;
  }
  if (need != NodeNeed::Primary) {
    status.node(size_t(node)).reads.fetch_add(1, std::memory_order_relaxed);
  }
  return &worker_.node(size_t(node));
}

awaitable<bool> ClientSession::attachOnShard(shardmap::ShardIndex shard, NodeNeed need,
                                             Reply failureReply) {
  const std::vector<size_t>& nodes = worker_.status().nodesOf(shard);
  uint64_t excluded = 0;
  for (size_t attempt = 0;; ++attempt) {
    std::string error;
    const NodeConfig* node = nodeFor(shard, need, excluded, error);
    if (node == nullptr) {
      reportFailure(std::move(error), failureReply);
      co_return false;
    }
    if (pool_ == nullptr || pool_->key().node != node) {
      pool_ = &worker_.pools().get(*node, login_->database, *login_->user);
    }
    shard_ = shard;
    bool primary = int(node->index) == worker_.status().primaryOf(shard);
    // A reader that cannot be reached is skipped: nothing was sent to it yet.
    bool retry = !primary && attempt < nodes.size();
    bool attached = attachNow();
    if (!attached) {
      attached = co_await ensureBackend(failureReply, BackendWait::Queue, retry ? &error : nullptr);
    }
    if (attached) {
      co_return true;
    }
    if (!retry) {
      co_return false;
    }
    spdlog::debug("{} node={} failed before the read was sent; trying another node", tag(),
                  node->name);
    size_t position = size_t(std::find(nodes.begin(), nodes.end(), node->index) - nodes.begin());
    excluded |= uint64_t{1} << position;
  }
}

// A SET TRANSACTION right after a BEGIN the router answered: it joins the BEGIN, so that the
// transaction's first statement picks its node knowing whether it is READ ONLY.
bool ClientSession::deferSetTransaction(const Target& target, std::string_view query) {
  if (!target.setTransaction || !beginDeferred() || backend_ || pinned_) {
    return false;
  }
  wire::MessageWriter(routing().deferredBegin).begin('Q').cstring(query).end();
  if (target.readOnly || target.readWrite) {
    routing().deferredReadOnly = target.readOnly;
  }
  return true;
}

}  // namespace shardline::session
