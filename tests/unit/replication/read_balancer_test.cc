#include "replication/read_balancer.h"

#include <map>

#include <doctest/doctest.h>

using namespace shardline::replication;

namespace {

// One shard: node 0 the primary, nodes 1..replicas its replicas, all up and caught up.
struct Shard {
  explicit Shard(size_t replicas, std::vector<uint32_t> weights = {})
      : status(specs(replicas, weights), {"s0"}, 1) {
    for (size_t i = 1; i <= replicas; ++i) {
      NodeStatus& node = status.node(i);
      node.healthy = true;
      node.role = NodeRole::Replica;
      node.lsn = 100;
    }
  }

  static std::vector<NodeSpec> specs(size_t replicas, const std::vector<uint32_t>& weights) {
    std::vector<NodeSpec> out;
    for (size_t i = 0; i <= replicas; ++i) {
      NodeSpec spec;
      spec.name = "n" + std::to_string(i);
      spec.configured = i == 0 ? NodeRole::Primary : NodeRole::Replica;
      spec.weight = i < weights.size() ? weights[i] : 1;
      out.push_back(spec);
    }
    return out;
  }

  // How many of `reads` reads each node got.
  std::map<int, int> spread(const ReadRule& rule, int reads, Freshness fresh = {},
                            uint64_t client = 7) {
    ReadBalancer balancer(status);
    std::map<int, int> out;
    for (int i = 0; i < reads; ++i) {
      ++out[balancer.pick(0, rule, fresh, client)];
    }
    return out;
  }

  ClusterStatus status;
};

}  // namespace

TEST_CASE("round robin takes each replica in turn and leaves the primary out") {
  Shard shard(2);
  CHECK(shard.spread({ReadPolicy::RoundRobin, false}, 10) == std::map<int, int>{{1, 5}, {2, 5}});
  CHECK(shard.spread({ReadPolicy::RoundRobin, true}, 9) ==
        std::map<int, int>{{0, 3}, {1, 3}, {2, 3}});
}

TEST_CASE("the primary policy keeps every read on the primary") {
  Shard shard(2);
  CHECK(shard.spread({ReadPolicy::Primary, true}, 4) == std::map<int, int>{{0, 4}});
}

TEST_CASE("weighted reads follow the weights, smoothly") {
  Shard shard(2, {1, 3, 1});
  CHECK(shard.spread({ReadPolicy::Weighted, false}, 40) == std::map<int, int>{{1, 30}, {2, 10}});
  ReadBalancer balancer(shard.status);
  std::vector<int> order;
  for (int i = 0; i < 4; ++i) {
    order.push_back(balancer.pick(0, {ReadPolicy::Weighted, false}, {}, 0));
  }
  CHECK(order == std::vector<int>{1, 1, 2, 1});  // not 1 1 1 2
}

TEST_CASE("least connections picks the replica with fewest backends in use") {
  Shard shard(2);
  shard.status.node(1).active = 3;
  shard.status.node(2).active = 1;
  CHECK(shard.spread({ReadPolicy::LeastConnections, false}, 5) == std::map<int, int>{{2, 5}});
}

TEST_CASE("random reaches every replica and nothing else") {
  Shard shard(2);
  auto spread = shard.spread({ReadPolicy::Random, false}, 200);
  CHECK(spread.size() == 2);
  CHECK(spread[1] > 0);
  CHECK(spread[2] > 0);
}

TEST_CASE("client hash keeps a client on one replica, and moves only that node's clients") {
  Shard shard(3);
  std::map<uint64_t, int> home;
  for (uint64_t client = 1; client <= 200; ++client) {
    auto spread = shard.spread({ReadPolicy::ClientHash, false}, 5, {}, client);
    REQUIRE(spread.size() == 1);
    home[client] = spread.begin()->first;
  }
  std::map<int, int> perNode;
  for (const auto& [client, node] : home) {
    ++perNode[node];
  }
  CHECK(perNode.size() == 3);  // every replica serves some clients

  shard.status.node(2).healthy = false;
  for (const auto& [client, node] : home) {
    int now = shard.spread({ReadPolicy::ClientHash, false}, 1, {}, client).begin()->first;
    if (node != 2) {
      CHECK(now == node);
    } else {
      CHECK(now != 2);
    }
  }
}

TEST_CASE("replicas that are down, lagging, or behind the client's writes get no reads") {
  Shard shard(3);
  shard.status.node(1).healthy = false;
  shard.status.node(2).lagging = true;
  CHECK(shard.spread({ReadPolicy::RoundRobin, false}, 4) == std::map<int, int>{{3, 4}});

  shard.status.node(3).lsn = 50;  // has not replayed position 60
  CHECK(shard.spread({ReadPolicy::RoundRobin, false}, 4, Freshness{60}) ==
        std::map<int, int>{{0, 4}});
  CHECK(shard.spread({ReadPolicy::RoundRobin, false}, 4, Freshness{50}) ==
        std::map<int, int>{{3, 4}});
  CHECK(shard.spread({ReadPolicy::RoundRobin, false}, 2, Freshness{Freshness::kPrimaryOnly}) ==
        std::map<int, int>{{0, 2}});
}

TEST_CASE("a read excluded from a failed replica goes to another node") {
  Shard shard(2);
  ReadBalancer balancer(shard.status);
  CHECK(balancer.pick(0, {ReadPolicy::RoundRobin, false}, {}, 0, 0b010) == 2);
  CHECK(balancer.pick(0, {ReadPolicy::RoundRobin, false}, {}, 0, 0b110) == 0);
}

TEST_CASE("without a reachable primary, reads stay on replicas and writes have nowhere to go") {
  Shard shard(1);
  shard.status.eject(0, std::chrono::milliseconds(1000));
  CHECK(shard.status.primaryOf(0) == -1);
  CHECK(shard.spread({ReadPolicy::RoundRobin, false}, 2) == std::map<int, int>{{1, 2}});
  CHECK(shard.spread({ReadPolicy::RoundRobin, false}, 1, Freshness{Freshness::kPrimaryOnly}) ==
        std::map<int, int>{{-1, 1}});
}
