// The shard map: which shard owns each slot, and which tables are sharded, on which key, and
// with which others they are colocated.
//
// A key's slot is the top log2(slotCount) bits of its hash; shards own ranges of slots; a
// slot belongs to exactly one shard. Tables not named in the map live whole on the default
// shard; reference tables are copied on every shard. Tables in one colocation group share a
// key type, so equal keys land in the same slot, hence on the same shard, by construction.
//
// A ShardMap is immutable once built: share it as std::shared_ptr<const ShardMap>; any
// thread may read it without locking. A change to the map builds a new one with a new
// version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shardmap/identifier.h"
#include "shardmap/key.h"
#include "shardmap/result.h"

namespace shardline::shardmap {

constexpr uint32_t kDefaultSlotCount = 4096;
constexpr uint32_t kMaxSlotCount = 65536;

// A shard's position in ShardMap::shards().
using ShardIndex = uint32_t;

// Slots first to last, both included.
struct SlotRange {
  uint32_t first = 0;
  uint32_t last = 0;

  uint32_t size() const { return last - first + 1; }
  bool operator==(const SlotRange&) const = default;
};

struct Shard {
  std::string name;              // as the router's [[nodes]] name their shard
  std::vector<SlotRange> slots;  // may be empty: a shard that owns nothing yet
};

enum class Placement : uint8_t {
  Sharded,    // rows spread over the shards by the hash of the key column
  Reference,  // every shard holds all rows
};

struct Table {
  QualifiedName name;
  Placement placement = Placement::Sharded;
  std::string keyColumn;              // sharded only; as Postgres resolves the name
  KeyType keyType = KeyType::BigInt;  // sharded only
  uint32_t colocationGroup = 0;       // sharded only; equal groups are colocated
};

// What a map is built from. Names are already resolved (see identifier.h).
struct TableSpec {
  QualifiedName name;
  Placement placement = Placement::Sharded;
  std::string keyColumn;
  KeyType keyType = KeyType::BigInt;
  std::optional<QualifiedName> colocateWith;  // a sharded table of the same key type
};

struct MapSpec {
  uint64_t version = 1;
  uint32_t slotCount = kDefaultSlotCount;
  std::vector<Shard> shards;
  std::vector<TableSpec> tables;
  std::string defaultShard;  // empty: the first shard
};

// Why ShardMap::build refused a spec, and which part of the spec is wrong.
struct MapError {
  enum class Part : uint8_t {
    SlotCount,     // spec.slotCount
    Shards,        // spec.shards as a whole
    ShardName,     // spec.shards[index].name
    ShardSlots,    // spec.shards[index].slots
    DefaultShard,  // spec.defaultShard
    TableName,     // spec.tables[index].name
    ColocateWith,  // spec.tables[index].colocateWith
  };
  Part part;
  size_t index = 0;                  // the shard or table, for the parts that have one
  std::optional<size_t> firstIndex;  // for duplicates: the entry defined first
  std::string what;
};

// `slotCount` slots split into `shardCount` contiguous ranges in order, the first ones one
// slot larger when the split is uneven. Requires: 0 < shardCount <= slotCount.
std::vector<SlotRange> splitSlotsEvenly(uint32_t slotCount, uint32_t shardCount);

// True for the powers of two from 1 to kMaxSlotCount.
bool isValidSlotCount(uint64_t slotCount);

// A version that names the spec's content: equal specs get equal versions and any change gives
// another (up to hash collisions). For maps without a history, such as a config file's. Positive
// and below 2^63, so that it fits a Postgres bigint.
uint64_t contentVersion(const MapSpec& spec);

class ShardMap {
 public:
  // Checks that every slot has exactly one owner, shard and table names are unique, the
  // default shard exists, and each colocate_with names a sharded table of the same key type.
  static Result<ShardMap, MapError> build(MapSpec spec);

  uint64_t version() const { return version_; }
  uint32_t slotCount() const { return slotCount_; }

  const std::vector<Shard>& shards() const { return shards_; }
  // Requires: index < shards().size().
  const Shard& shard(ShardIndex index) const { return shards_[index]; }
  std::optional<ShardIndex> findShard(std::string_view name) const;
  ShardIndex defaultShard() const { return defaultShard_; }

  const std::vector<Table>& tables() const { return tables_; }
  // The table named (schema, name), compared byte for byte: pass names as Postgres resolved
  // them (unquoted folded to lower case). An empty schema means "public". nullptr: the table
  // is not in the map and lives on the default shard.
  const Table* findTable(std::string_view schema, std::string_view name) const;

  uint32_t slotForHash(uint64_t hash) const;
  uint32_t slotForKey(const Key& key) const { return slotForHash(key.hash()); }
  // Requires: slot < slotCount().
  ShardIndex shardForSlot(uint32_t slot) const { return slotOwners_[slot]; }
  // The shard holding `key` in `table`; nullopt when the table is not sharded or the key's
  // family differs from that of the table's key type.
  std::optional<ShardIndex> shardForKey(const Table& table, const Key& key) const;

 private:
  ShardMap() = default;
  void indexTables();  // fills tablesByName_ from tables_

  uint64_t version_ = 0;
  uint32_t slotCount_ = 0;
  uint32_t slotBits_ = 0;  // log2(slotCount_)
  std::vector<Shard> shards_;
  std::vector<uint16_t> slotOwners_;  // slot -> shard index
  ShardIndex defaultShard_ = 0;
  std::vector<Table> tables_;
  std::vector<uint32_t> tablesByName_;  // indexes into tables_, sorted by name
};

}  // namespace shardline::shardmap
