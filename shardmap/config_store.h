// The config-file store of the shard map: reads the map from the [sharding], [[shards]] and
// [[tables]] sections of shardline.toml, the file the router reads its own settings from.
// Every other top-level section belongs to the router and is skipped here.
//
//   [sharding]              slots (a power of two, default 4096), default_shard
//   [[shards]]              name, slots = ["0-2047", "4000"] (inclusive ranges or single slots)
//   [[tables]]              name ("users" or "app.users"), key, type, colocate_with, reference
//
// Without [[shards]], the shards are those of the router's [[nodes]], in order of first
// appearance; shards that list no slots split them evenly in file order. A refused file gives
// "<path>:<line>: <dotted.key>: <what is wrong>".
//
// A file has no history, so the map's version is contentVersion() of what it holds.
//
// The functions are safe to call from any thread; each call builds its own map.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shardmap/map.h"

namespace shardline::shardmap {

struct MapLoadResult {
  std::shared_ptr<const ShardMap> map;  // null when refused
  std::string error;                    // set when refused
};

// `nodeShards` holds the shard of each of the router's [[nodes]], in file order, repeats
// allowed. When not empty, each shard in [[shards]] must be among them; when there are no
// [[shards]], they are the shards. `path` only names the file in errors.
MapLoadResult parseShardMap(std::string_view text, const std::string& path,
                            const std::vector<std::string>& nodeShards);

// Reads `path` and parses it as parseShardMap() does.
MapLoadResult loadShardMap(const std::string& path, const std::vector<std::string>& nodeShards);

}  // namespace shardline::shardmap
