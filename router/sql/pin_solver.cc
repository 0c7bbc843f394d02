#include "router/sql/pin_solver.h"

#include <algorithm>
#include <numeric>

namespace shardline::sql {

void addValue(ValueSet& set, const ValueRef& value) {
  if (std::find(set.begin(), set.end(), value) == set.end()) {
    set.push_back(value);
  }
}

int ColumnNodes::intern(int entry, std::string_view column) {
  int found = find(entry, column);
  if (found >= 0) {
    return found;
  }
  nodes_.emplace_back(entry, std::string(column));
  return static_cast<int>(nodes_.size()) - 1;
}

int ColumnNodes::find(int entry, std::string_view column) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].first == entry && nodes_[i].second == column) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

namespace {

class UnionFind {
 public:
  explicit UnionFind(size_t size) : parent_(size) { std::iota(parent_.begin(), parent_.end(), 0); }

  int find(int node) {
    while (parent_[node] != node) {
      parent_[node] = parent_[parent_[node]];
      node = parent_[node];
    }
    return node;
  }

  void unite(int a, int b) { parent_[find(a)] = find(b); }

 private:
  std::vector<int> parent_;
};

// Keeps, per class representative, the smallest pin set offered.
void offer(PinMap& best, int rep, const ValueSet& values) {
  if (values.empty()) {
    return;
  }
  if (!best[rep] || values.size() < best[rep]->size()) {
    best[rep] = values;
  }
}

PinMap solve(size_t count, const FactSet& facts, UnionFind classes, const PinMap* seeds) {
  for (const auto& [a, b] : facts.equal) {
    classes.unite(a, b);
  }

  PinMap best(count);
  if (seeds != nullptr) {
    for (size_t node = 0; node < count; ++node) {
      if ((*seeds)[node]) {
        offer(best, classes.find(static_cast<int>(node)), *(*seeds)[node]);
      }
    }
  }
  for (const auto& [node, values] : facts.pins) {
    offer(best, classes.find(node), values);
  }

  // A disjunction pins a class when every branch pins it: to the union of the branches'
  // values. Each branch is solved with this level's classes, which hold in every branch.
  for (const std::vector<FactSet>& branches : facts.disjunctions) {
    std::vector<PinMap> byClass;
    for (const FactSet& branch : branches) {
      PinMap pins = solve(count, branch, classes, nullptr);
      PinMap mine(count);
      for (size_t node = 0; node < count; ++node) {
        int rep = classes.find(static_cast<int>(node));
        if (pins[node] && !mine[rep]) {
          mine[rep] = std::move(pins[node]);
        }
      }
      byClass.push_back(std::move(mine));
    }
    for (size_t rep = 0; rep < count && !byClass.empty(); ++rep) {
      ValueSet all;
      bool everyBranch = true;
      for (const PinMap& branch : byClass) {
        if (!branch[rep]) {
          everyBranch = false;
          break;
        }
        for (const ValueRef& value : *branch[rep]) {
          addValue(all, value);
        }
      }
      if (everyBranch) {
        offer(best, static_cast<int>(rep), all);
      }
    }
  }

  PinMap result(count);
  for (size_t node = 0; node < count; ++node) {
    result[node] = best[classes.find(static_cast<int>(node))];
  }
  return result;
}

}  // namespace

PinMap solvePins(size_t nodeCount, const FactSet& facts, const PinMap* seeds) {
  return solve(nodeCount, facts, UnionFind(nodeCount), seeds);
}

}  // namespace shardline::sql
