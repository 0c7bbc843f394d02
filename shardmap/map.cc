#include "shardmap/map.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include "shardmap/hash.h"

namespace shardline::shardmap {
namespace {

constexpr int32_t kNoOwner = -1;

using NameView = std::pair<std::string_view, std::string_view>;

NameView viewOf(const QualifiedName& name) {
  return {name.schema, name.name};
}

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// "slot 7 is", "slots 7-9 are": the subject of an error message.
std::string slotsAre(uint32_t first, uint32_t last) {
  if (first == last) {
    return "slot " + std::to_string(first) + " is";
  }
  return "slots " + std::to_string(first) + "-" + std::to_string(last) + " are";
}

MapError error(MapError::Part part, size_t index, std::string what) {
  return MapError{part, index, std::nullopt, std::move(what)};
}

std::optional<MapError> checkSlotCount(uint32_t slotCount) {
  if (isValidSlotCount(slotCount)) {
    return std::nullopt;
  }
  return error(MapError::Part::SlotCount, 0,
               "must be a power of two between 1 and " + std::to_string(kMaxSlotCount) + " (got " +
                   std::to_string(slotCount) + ")");
}

std::optional<MapError> checkShards(const std::vector<Shard>& shards) {
  if (shards.empty()) {
    return error(MapError::Part::Shards, 0, "the map has no shards");
  }
  if (shards.size() > kMaxSlotCount) {
    return error(MapError::Part::Shards, 0,
                 "the map has more than " + std::to_string(kMaxSlotCount) + " shards");
  }
  std::map<std::string_view, size_t> firstIndex;
  for (size_t i = 0; i < shards.size(); ++i) {
    if (shards[i].name.empty()) {
      return error(MapError::Part::ShardName, i, "must not be empty");
    }
    auto [first, isNew] = firstIndex.emplace(shards[i].name, i);
    if (!isNew) {
      return MapError{MapError::Part::ShardName, i, first->second,
                      "duplicate shard " + quoted(shards[i].name)};
    }
  }
  return std::nullopt;
}

// The slots of `range` that `owners` already gives to one other shard, starting at `slot`.
MapError overlapError(const std::vector<int32_t>& owners, const std::vector<Shard>& shards,
                      size_t shard, const SlotRange& range, uint32_t slot) {
  int32_t other = owners[slot];
  uint32_t last = slot;
  while (last < range.last && owners[last + 1] == other) {
    ++last;
  }
  return MapError{MapError::Part::ShardSlots, shard, static_cast<size_t>(other),
                  slotsAre(slot, last) + " already owned by shard " +
                      quoted(shards[static_cast<size_t>(other)].name)};
}

std::optional<MapError> claimRange(const std::vector<Shard>& shards, size_t shard,
                                   const SlotRange& range, std::vector<int32_t>* owners) {
  uint32_t slotCount = static_cast<uint32_t>(owners->size());
  if (range.first > range.last) {
    return error(MapError::Part::ShardSlots, shard,
                 "range " + std::to_string(range.first) + "-" + std::to_string(range.last) +
                     " ends before it begins");
  }
  if (range.last >= slotCount) {
    return error(MapError::Part::ShardSlots, shard,
                 slotsAre(std::max(range.first, slotCount), range.last) +
                     " beyond the last slot, " + std::to_string(slotCount - 1));
  }
  for (uint32_t slot = range.first; slot <= range.last; ++slot) {
    if ((*owners)[slot] != kNoOwner) {
      return overlapError(*owners, shards, shard, range, slot);
    }
    (*owners)[slot] = static_cast<int32_t>(shard);
  }
  return std::nullopt;
}

// Gives every slot its owner; each slot must have exactly one.
std::optional<MapError> assignSlots(const std::vector<Shard>& shards, uint32_t slotCount,
                                    std::vector<uint16_t>* slotOwners) {
  std::vector<int32_t> owners(slotCount, kNoOwner);
  for (size_t i = 0; i < shards.size(); ++i) {
    for (const SlotRange& range : shards[i].slots) {
      if (std::optional<MapError> failed = claimRange(shards, i, range, &owners)) {
        return failed;
      }
    }
  }
  auto unowned = std::find(owners.begin(), owners.end(), kNoOwner);
  if (unowned != owners.end()) {
    auto first = static_cast<uint32_t>(unowned - owners.begin());
    auto end = std::find_if(unowned, owners.end(), [](int32_t owner) { return owner != kNoOwner; });
    auto last = static_cast<uint32_t>(end - owners.begin() - 1);
    return error(MapError::Part::Shards, 0, slotsAre(first, last) + " owned by no shard");
  }
  slotOwners->assign(owners.begin(), owners.end());
  return std::nullopt;
}

std::optional<MapError> checkTableNames(const std::vector<TableSpec>& tables,
                                        std::map<NameView, size_t>* byName) {
  for (size_t i = 0; i < tables.size(); ++i) {
    auto [first, isNew] = byName->emplace(viewOf(tables[i].name), i);
    if (!isNew) {
      return MapError{MapError::Part::TableName, i, first->second,
                      "duplicate table " + tables[i].name.toString()};
    }
  }
  return std::nullopt;
}

// The table `spec` names in colocate_with, checked to be a sharded table of the same type.
Result<size_t, MapError> colocationTarget(const std::vector<TableSpec>& tables, size_t index,
                                          const std::map<NameView, size_t>& byName) {
  using TargetResult = Result<size_t, MapError>;
  const TableSpec& spec = tables[index];
  auto fail = [&](std::string what) {
    return TargetResult::failure(error(MapError::Part::ColocateWith, index, std::move(what)));
  };
  if (spec.placement == Placement::Reference) {
    return fail("a reference table is on every shard and has nothing to colocate");
  }
  auto target = byName.find(viewOf(*spec.colocateWith));
  if (target == byName.end()) {
    return fail("names no table in the map: " + spec.colocateWith->toString());
  }
  const TableSpec& other = tables[target->second];
  if (other.placement == Placement::Reference) {
    return fail(other.name.toString() + " is a reference table, not a sharded one");
  }
  if (other.keyType != spec.keyType) {
    return fail(other.name.toString() + " has key type " + std::string(keyTypeName(other.keyType)) +
                ", this table " + std::string(keyTypeName(spec.keyType)) +
                ": colocated tables need the same type");
  }
  return target->second;
}

uint32_t findRoot(std::vector<uint32_t>& parent, uint32_t i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

// Turns the specs into tables, numbering colocation groups in order of their first table.
Result<std::vector<Table>, MapError> buildTables(const std::vector<TableSpec>& specs) {
  std::map<NameView, size_t> byName;
  if (std::optional<MapError> failed = checkTableNames(specs, &byName)) {
    return Result<std::vector<Table>, MapError>::failure(std::move(*failed));
  }
  std::vector<uint32_t> parent(specs.size());
  std::iota(parent.begin(), parent.end(), 0);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!specs[i].colocateWith) {
      continue;
    }
    Result<size_t, MapError> target = colocationTarget(specs, i, byName);
    if (!target) {
      return Result<std::vector<Table>, MapError>::failure(target.error());
    }
    parent[findRoot(parent, static_cast<uint32_t>(i))] =
        findRoot(parent, static_cast<uint32_t>(*target));
  }

  std::map<uint32_t, uint32_t> groupOfRoot;
  std::vector<Table> tables;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TableSpec& spec = specs[i];
    uint32_t root = findRoot(parent, static_cast<uint32_t>(i));
    uint32_t group = groupOfRoot.emplace(root, groupOfRoot.size()).first->second;
    tables.push_back(Table{spec.name, spec.placement, spec.keyColumn, spec.keyType, group});
  }
  return tables;
}

void appendField(std::string* out, std::string_view field) {
  *out += std::to_string(field.size());
  *out += ':';
  *out += field;
}

}  // namespace

std::vector<SlotRange> splitSlotsEvenly(uint32_t slotCount, uint32_t shardCount) {
  std::vector<SlotRange> ranges;
  uint32_t base = slotCount / shardCount;
  uint32_t larger = slotCount % shardCount;  // this many ranges get one slot more
  uint32_t next = 0;
  for (uint32_t i = 0; i < shardCount; ++i) {
    uint32_t size = base + (i < larger ? 1 : 0);
    ranges.push_back(SlotRange{next, next + size - 1});
    next += size;
  }
  return ranges;
}

bool isValidSlotCount(uint64_t slotCount) {
  return slotCount >= 1 && slotCount <= kMaxSlotCount && std::has_single_bit(slotCount);
}

uint64_t contentVersion(const MapSpec& spec) {
  std::string content;
  appendField(&content, std::to_string(spec.slotCount));
  appendField(&content, spec.defaultShard);
  for (const Shard& shard : spec.shards) {
    appendField(&content, shard.name);
    for (const SlotRange& range : shard.slots) {
      appendField(&content, std::to_string(range.first) + "-" + std::to_string(range.last));
    }
  }
  for (const TableSpec& table : spec.tables) {
    appendField(&content, table.name.schema);
    appendField(&content, table.name.name);
    appendField(&content, table.placement == Placement::Reference ? "reference" : "sharded");
    appendField(&content, table.keyColumn);
    appendField(&content, keyTypeName(table.keyType));
    appendField(&content, table.colocateWith ? table.colocateWith->schema : "");
    appendField(&content, table.colocateWith ? table.colocateWith->name : "");
  }
  uint64_t version = hashText(content) & static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return version == 0 ? 1 : version;
}

Result<ShardMap, MapError> ShardMap::build(MapSpec spec) {
  using MapResult = Result<ShardMap, MapError>;
  ShardMap map;
  std::optional<MapError> failed = checkSlotCount(spec.slotCount);
  if (!failed) {
    failed = checkShards(spec.shards);
  }
  if (!failed) {
    failed = assignSlots(spec.shards, spec.slotCount, &map.slotOwners_);
  }
  if (failed) {
    return MapResult::failure(std::move(*failed));
  }
  map.shards_ = std::move(spec.shards);
  std::optional<ShardIndex> defaultShard =
      spec.defaultShard.empty() ? 0 : map.findShard(spec.defaultShard);
  if (!defaultShard) {
    return MapResult::failure(error(MapError::Part::DefaultShard, 0,
                                    "names no shard in the map: " + quoted(spec.defaultShard)));
  }
  Result<std::vector<Table>, MapError> tables = buildTables(spec.tables);
  if (!tables) {
    return MapResult::failure(tables.error());
  }

  map.version_ = spec.version;
  map.slotCount_ = spec.slotCount;
  map.slotBits_ = static_cast<uint32_t>(std::countr_zero(spec.slotCount));
  map.defaultShard_ = *defaultShard;
  map.tables_ = std::move(tables).value();
  map.indexTables();
  return map;
}

void ShardMap::indexTables() {
  tablesByName_.resize(tables_.size());
  std::iota(tablesByName_.begin(), tablesByName_.end(), 0);
  std::sort(tablesByName_.begin(), tablesByName_.end(), [&](uint32_t a, uint32_t b) {
    return viewOf(tables_[a].name) < viewOf(tables_[b].name);
  });
}

std::optional<ShardIndex> ShardMap::findShard(std::string_view name) const {
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (shards_[i].name == name) {
      return static_cast<ShardIndex>(i);
    }
  }
  return std::nullopt;
}

const Table* ShardMap::findTable(std::string_view schema, std::string_view name) const {
  NameView wanted{schema.empty() ? kDefaultSchema : schema, name};
  auto it = std::lower_bound(
      tablesByName_.begin(), tablesByName_.end(), wanted,
      [&](uint32_t index, const NameView& key) { return viewOf(tables_[index].name) < key; });
  if (it == tablesByName_.end() || viewOf(tables_[*it].name) != wanted) {
    return nullptr;
  }
  return &tables_[*it];
}

uint32_t ShardMap::slotForHash(uint64_t hash) const {
  // With one slot there are no bits to take, and a shift by 64 would be undefined.
  return slotBits_ == 0 ? 0 : static_cast<uint32_t>(hash >> (64 - slotBits_));
}

std::optional<ShardIndex> ShardMap::shardForKey(const Table& table, const Key& key) const {
  if (table.placement != Placement::Sharded || key.family() != keyFamily(table.keyType)) {
    return std::nullopt;
  }
  return shardForSlot(slotForKey(key));
}

}  // namespace shardline::shardmap
