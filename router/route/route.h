// The routing decision: which shard or shards a statement goes to, from its
// analysis (router/sql/analyzer.h), this execution's constants and parameters,
// comment hints and the shard map.
//
// Pure functions over immutable inputs; any thread may call them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/sql/analyzer.h"
#include "router/sql/hints.h"
#include "shardmap/map.h"

namespace shardline::route {

using shardmap::ShardIndex;

// Routing errors share the SQLSTATE class "SL" (implementation-defined classes
// may use letters past H); docs/routing.md lists them.
inline constexpr std::string_view kMissingKey = "SL001";       // a multi-shard write without key
inline constexpr std::string_view kKeyChange = "SL002";        // UPDATE of the shard key
inline constexpr std::string_view kCrossShard = "SL003";       // a transaction on a second shard
inline constexpr std::string_view kNotSupported = "SL004";     // a merge not supported yet
inline constexpr std::string_view kNotColocated = "SL005";     // sharded tables not colocated
inline constexpr std::string_view kBadHint = "SL006";          // a hint naming no shard
inline constexpr std::string_view kNeedsColumnList = "SL007";  // INSERT without a column list

struct RouteError {
  std::string_view sqlstate;
  std::string message;
  // SL007: the table whose column order would route the statement, when the caller may learn
  // it (from the catalog) and decide again.
  std::optional<shardmap::QualifiedName> needsColumnsOf;
};

// The columns of a table in the order Postgres lists them (attnum), or null when not known.
using ColumnLookup =
    std::function<const std::vector<std::string>*(const shardmap::QualifiedName& table)>;

// A bound parameter as it came in Bind: text or binary, or NULL.
struct Parameter {
  std::optional<std::string> value;
  bool binary = false;
  uint32_t type = 0;  // the type OID the Parse declared; 0 when it left it to Postgres
};

struct Route {
  std::vector<ShardIndex> shards;  // sorted, without duplicates
  bool all = false;                // every shard: a scatter read or a broadcast write
  bool any = false;                // any one shard will do (reference tables, no table)
  // INSERT ... VALUES over several shards: the shard of each row, in order.
  std::vector<ShardIndex> rowShards;
  bool splitCopy = false;  // COPY FROM into a sharded table: rows split by key
  // Every shard holds the same rows (a reference table written, DDL): the statement's row
  // count is one shard's, not the sum.
  bool copies = false;
  bool keyed = false;  // decided by shard keys the statement gives
  std::string reason;  // how the decision was made, for `shardline route` and logs
  std::optional<RouteError> error;
};

struct RouteInput {
  const sql::Analysis& analysis;
  const sql::Shape& shape;  // this execution's constants
  const sql::Hints& hints;
  const std::vector<Parameter>& parameters;
  std::string searchSchema = "public";  // where unqualified names resolve
  bool allowMultishardWrites = false;
  ColumnLookup columns;  // for INSERT without a column list; may be empty
  // The session's search_path, when known: an unqualified name is the table of the first of
  // these schemas that the map names it in (the map cannot see tables it does not name).
  // Empty: `searchSchema` alone.
  std::vector<std::string> searchPath;
};

Route decide(const shardmap::ShardMap& map, const RouteInput& input);

// Renders a route as `s1`, `s0,s1`, `all` or `any`.
std::string describe(const shardmap::ShardMap& map, const Route& route);

}  // namespace shardline::route
