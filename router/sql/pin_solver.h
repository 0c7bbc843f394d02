// Derives which values each column is pinned to from the equality facts of one query level:
// column = column (equivalence classes), column = value(s), and OR of such conjunctions.
// Internal to the statement analyzer; pure data, no parse tree.
//
// A "column node" is one column of one range entry of the level (or a stand-in for an
// unqualified column); ColumnNodes numbers them. A FactSet holds the conjuncts of a WHERE or
// ON clause; solvePins() closes them:
//   a = b AND b = 42                 pins a and b to {42}
//   a = 1 OR a = $1                  pins a to {1, $1}
//   a = 1 OR b = 2                   pins nothing
//   a = b AND (a = 1 OR b = 2)       pins a and b to {1, 2}
// Where several facts pin one class, any of them is true of every row; the smallest set wins,
// the first on a tie, so the choice depends on the shape and never on the values.
//
// Any thread may use its own instances.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/sql/analyzer.h"

namespace shardline::sql {

using ValueSet = std::vector<ValueRef>;

// Adds `value` to `set` unless it is there already.
void addValue(ValueSet& set, const ValueRef& value);

class ColumnNodes {
 public:
  // The node of `column` of entry `entry`, created on first use.
  int intern(int entry, std::string_view column);
  // The node, or -1 when it was never interned.
  int find(int entry, std::string_view column) const;

  size_t size() const { return nodes_.size(); }
  int entry(int node) const { return nodes_[node].first; }
  const std::string& column(int node) const { return nodes_[node].second; }

 private:
  std::vector<std::pair<int, std::string>> nodes_;
};

struct FactSet {
  std::vector<std::pair<int, int>> equal;          // node = node
  std::vector<std::pair<int, ValueSet>> pins;      // node = one of the values
  std::vector<std::vector<FactSet>> disjunctions;  // each: OR of its fact sets

  bool empty() const { return equal.empty() && pins.empty() && disjunctions.empty(); }
};

// For each node below `nodeCount`, the values it is pinned to, or nullopt.
using PinMap = std::vector<std::optional<ValueSet>>;

// Closes `facts`; `seeds` (may be null, else sized nodeCount) are pins already known true.
PinMap solvePins(size_t nodeCount, const FactSet& facts, const PinMap* seeds = nullptr);

}  // namespace shardline::sql
