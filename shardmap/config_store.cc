#include "shardmap/config_store.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <utility>

#include "shardmap/toml_reader.h"

namespace shardline::shardmap {
namespace {

constexpr std::array<std::string_view, 6> kTypeChoices{"smallint", "int",     "bigint",
                                                       "text",     "varchar", "uuid"};

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

// Where the parts of the spec were read from, so that errors found later can name a line.
struct Sources {
  TomlScope root;
  std::optional<TomlScope> sharding;
  const toml::array* shards = nullptr;  // null when the shards come from the router's [[nodes]]
  const toml::array* tables = nullptr;
};

// Slot ranges: "0-2047" or "17", spaces allowed around the numbers.

std::string_view trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

std::optional<uint32_t> parseSlot(std::string_view text) {
  text = trimmed(text);
  constexpr size_t kMaxDigits = 9;  // far above any slot, far below overflow
  if (text.empty() || text.size() > kMaxDigits ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  uint32_t slot = 0;
  for (char c : text) {
    slot = slot * 10 + static_cast<uint32_t>(c - '0');
  }
  return slot;
}

std::optional<SlotRange> parseSlotRange(std::string_view text) {
  size_t dash = text.find('-');
  std::optional<uint32_t> first = parseSlot(text.substr(0, dash));
  std::optional<uint32_t> last =
      dash == std::string_view::npos ? first : parseSlot(text.substr(dash + 1));
  if (!first || !last) {
    return std::nullopt;
  }
  return SlotRange{*first, *last};
}

// [sharding]

void readSharding(TomlReader& reader, Sources& sources, MapSpec* spec) {
  sources.sharding = reader.table(sources.root, "sharding");
  if (!sources.sharding) {
    return;
  }
  const TomlScope& scope = *sources.sharding;
  reader.rejectUnknownKeys(scope, {"slots", "default_shard"});
  if (std::optional<int64_t> slots = reader.integer(scope, "slots")) {
    if (*slots < 0 || !isValidSlotCount(static_cast<uint64_t>(*slots))) {
      reader.failAt(scope, "slots",
                    "must be a power of two between 1 and " + std::to_string(kMaxSlotCount) +
                        " (got " + std::to_string(*slots) + ")");
    } else {
      spec->slotCount = static_cast<uint32_t>(*slots);
    }
  }
  std::optional<std::string> defaultShard =
      reader.string(scope, "default_shard", Presence::Optional);
  if (defaultShard && defaultShard->empty()) {
    reader.failAt(scope, "default_shard", "must not be empty");
  }
  spec->defaultShard = defaultShard.value_or("");
}

// [[shards]]

void splitEvenly(TomlReader& reader, const Sources& sources, MapSpec* spec) {
  if (spec->shards.size() > spec->slotCount) {
    const TomlScope& scope = sources.sharding ? *sources.sharding : sources.root;
    reader.failAt(scope, sources.sharding ? "slots" : "shards",
                  "fewer slots than shards (" + std::to_string(spec->slotCount) + " < " +
                      std::to_string(spec->shards.size()) + ")");
    return;
  }
  std::vector<SlotRange> ranges =
      splitSlotsEvenly(spec->slotCount, static_cast<uint32_t>(spec->shards.size()));
  for (size_t i = 0; i < ranges.size(); ++i) {
    spec->shards[i].slots = {ranges[i]};
  }
}

Shard readShard(TomlReader& reader, const TomlScope& scope) {
  reader.rejectUnknownKeys(scope, {"name", "slots"});
  Shard shard;
  shard.name = reader.string(scope, "name", Presence::Required).value_or("");
  for (const std::string& text :
       reader.stringArray(scope, "slots").value_or(std::vector<std::string>{})) {
    std::optional<SlotRange> range = parseSlotRange(text);
    if (!range) {
      reader.failAt(scope, "slots",
                    quoted(text) + " is neither a slot nor a range of slots (\"first-last\")");
      break;
    }
    shard.slots.push_back(*range);
  }
  return shard;
}

// Either every shard lists its slots, or none does and they are split evenly.
void checkSlotsListed(TomlReader& reader, const toml::array& array) {
  std::optional<size_t> listing;
  std::optional<size_t> silent;
  for (size_t i = 0; i < array.size(); ++i) {
    bool lists = TomlReader::element(array, "shards", i).table->contains("slots");
    if (lists && !listing) {
      listing = i;
    }
    if (!lists && !silent) {
      silent = i;
    }
  }
  if (listing && silent) {
    TomlScope scope = TomlReader::element(array, "shards", *silent);
    TomlScope other = TomlReader::element(array, "shards", *listing);
    reader.failAt(scope, "slots",
                  "is required, since " + other.name + " (line " +
                      std::to_string(reader.lineOf(other, "slots")) +
                      ") lists its slots: list them for every shard or for none");
  }
}

void readShards(TomlReader& reader, Sources& sources, MapSpec* spec) {
  sources.shards = reader.tableArray(sources.root, "shards");
  if (sources.shards == nullptr) {
    return;
  }
  if (sources.shards->empty()) {
    reader.failAt(sources.root, "shards", "must hold at least one shard");
    return;
  }
  for (size_t i = 0; i < sources.shards->size(); ++i) {
    spec->shards.push_back(readShard(reader, TomlReader::element(*sources.shards, "shards", i)));
  }
  checkSlotsListed(reader, *sources.shards);
  bool listed = TomlReader::element(*sources.shards, "shards", 0).table->contains("slots");
  if (!listed) {
    splitEvenly(reader, sources, spec);
  }
}

// The shards of the router's [[nodes]], when the file has no [[shards]].
void readNodeShards(TomlReader& reader, const Sources& sources,
                    const std::vector<std::string>& nodeShards, MapSpec* spec) {
  for (const std::string& name : nodeShards) {
    auto same = [&](const Shard& shard) { return shard.name == name; };
    if (std::none_of(spec->shards.begin(), spec->shards.end(), same)) {
      spec->shards.push_back(Shard{name, {}});
    }
  }
  if (spec->shards.empty()) {
    reader.failAt(sources.root, "shards",
                  "the map has no shards: add [[shards]] entries, or [[nodes]] naming their shard");
    return;
  }
  splitEvenly(reader, sources, spec);
}

// Every shard of the map needs nodes to serve it.
void checkShardsHaveNodes(TomlReader& reader, const Sources& sources,
                          const std::vector<std::string>& nodeShards, const MapSpec& spec) {
  if (nodeShards.empty() || sources.shards == nullptr) {
    return;
  }
  for (size_t i = 0; i < spec.shards.size(); ++i) {
    const std::string& name = spec.shards[i].name;
    if (std::find(nodeShards.begin(), nodeShards.end(), name) == nodeShards.end()) {
      reader.failAt(TomlReader::element(*sources.shards, "shards", i), "name",
                    "shard " + quoted(name) + " has no [[nodes]]");
    }
  }
}

// [[tables]]

std::optional<QualifiedName> readTableName(TomlReader& reader, const TomlScope& scope,
                                           std::string_view key, Presence presence) {
  std::optional<std::string> text = reader.string(scope, key, presence);
  if (!text) {
    return std::nullopt;
  }
  Result<QualifiedName> name = parseQualifiedName(*text);
  if (!name) {
    reader.failAt(scope, key, quoted(*text) + " is not a table name: " + name.error());
    return std::nullopt;
  }
  return name.value();
}

void readReferenceTable(TomlReader& reader, const TomlScope& scope, TableSpec* table) {
  table->placement = Placement::Reference;
  for (std::string_view key : {"key", "type", "colocate_with"}) {
    if (scope.table->contains(key)) {
      reader.failAt(scope, key,
                    "a table cannot be both sharded and a reference table (reference = true on "
                    "line " +
                        std::to_string(reader.lineOf(scope, "reference")) + ")");
    }
  }
}

void readKeyColumn(TomlReader& reader, const TomlScope& scope, TableSpec* table) {
  if (!scope.table->contains("key")) {
    reader.failAt(scope, "key", "is required (or reference = true for a table on every shard)");
    return;
  }
  std::optional<std::string> text = reader.string(scope, "key", Presence::Required);
  if (!text) {
    return;
  }
  Result<std::string> column = parseIdentifier(*text);
  if (!column) {
    reader.failAt(scope, "key", quoted(*text) + " is not a column name: " + column.error());
    return;
  }
  table->keyColumn = column.value();
}

void readKeyType(TomlReader& reader, const TomlScope& scope, TableSpec* table) {
  std::optional<std::string> text = reader.string(scope, "type", Presence::Required);
  if (!text) {
    return;
  }
  std::optional<KeyType> type = parseKeyType(*text);
  if (!type) {
    std::string choices;
    for (std::string_view choice : kTypeChoices) {
      choices += (choices.empty() ? "" : ", ") + quoted(choice);
    }
    reader.failAt(scope, "type", "must be one of " + choices + " (got " + quoted(*text) + ")");
    return;
  }
  table->keyType = *type;
}

TableSpec readTable(TomlReader& reader, const TomlScope& scope) {
  reader.rejectUnknownKeys(scope, {"name", "key", "type", "colocate_with", "reference"});
  TableSpec table;
  table.name = readTableName(reader, scope, "name", Presence::Required).value_or(QualifiedName{});
  if (reader.boolean(scope, "reference").value_or(false)) {
    readReferenceTable(reader, scope, &table);
    return table;
  }
  readKeyColumn(reader, scope, &table);
  readKeyType(reader, scope, &table);
  table.colocateWith = readTableName(reader, scope, "colocate_with", Presence::Optional);
  return table;
}

void readTables(TomlReader& reader, Sources& sources, MapSpec* spec) {
  sources.tables = reader.tableArray(sources.root, "tables");
  if (sources.tables == nullptr) {
    return;
  }
  for (size_t i = 0; i < sources.tables->size(); ++i) {
    spec->tables.push_back(readTable(reader, TomlReader::element(*sources.tables, "tables", i)));
  }
}

// Errors from ShardMap::build, placed at the key they come from.

void failAtElement(TomlReader& reader, const Sources& sources, const toml::array* array,
                   std::string_view name, const MapError& error, std::string_view key) {
  if (array == nullptr) {
    reader.failAt(sources.root, "nodes", error.what);  // shards made from the router's nodes
    return;
  }
  TomlScope scope = TomlReader::element(*array, name, error.index);
  std::string what = error.what;
  if (error.firstIndex) {
    TomlScope first = TomlReader::element(*array, name, *error.firstIndex);
    std::string line = std::to_string(reader.lineOf(first, key));
    what += key == "name" ? " (first defined on line " + line + ")"
                          : " (" + first.name + " on line " + line + ")";
  }
  reader.failAt(scope, key, what);
}

void reportMapError(TomlReader& reader, const Sources& sources, const MapError& error) {
  const TomlScope& sharding = sources.sharding ? *sources.sharding : sources.root;
  switch (error.part) {
    case MapError::Part::SlotCount:
      reader.failAt(sharding, "slots", error.what);
      return;
    case MapError::Part::Shards:
      reader.failAt(sources.root, sources.shards != nullptr ? "shards" : "nodes", error.what);
      return;
    case MapError::Part::ShardName:
      return failAtElement(reader, sources, sources.shards, "shards", error, "name");
    case MapError::Part::ShardSlots:
      return failAtElement(reader, sources, sources.shards, "shards", error, "slots");
    case MapError::Part::DefaultShard:
      reader.failAt(sharding, "default_shard", error.what);
      return;
    case MapError::Part::TableName:
      return failAtElement(reader, sources, sources.tables, "tables", error, "name");
    case MapError::Part::ColocateWith:
      return failAtElement(reader, sources, sources.tables, "tables", error, "colocate_with");
  }
}

MapLoadResult refused(std::string error) {
  return MapLoadResult{nullptr, std::move(error)};
}

MapLoadResult buildFromTable(const toml::table& root, const std::string& path,
                             const std::vector<std::string>& nodeShards) {
  TomlReader reader(path);
  Sources sources{TomlScope{&root, ""}, std::nullopt, nullptr, nullptr};
  MapSpec spec;
  readSharding(reader, sources, &spec);
  readShards(reader, sources, &spec);
  readTables(reader, sources, &spec);
  if (sources.shards == nullptr && !reader.failed()) {
    readNodeShards(reader, sources, nodeShards, &spec);
  }
  checkShardsHaveNodes(reader, sources, nodeShards, spec);
  if (reader.failed()) {
    return refused(reader.error());
  }

  spec.version = contentVersion(spec);
  Result<ShardMap, MapError> map = ShardMap::build(std::move(spec));
  if (!map) {
    reportMapError(reader, sources, map.error());
    return refused(reader.error());
  }
  return MapLoadResult{std::make_shared<const ShardMap>(std::move(map).value()), ""};
}

MapLoadResult parseDocument(std::string_view text, const std::string& path,
                            const std::vector<std::string>& nodeShards) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    const toml::source_position& where = e.source().begin;
    return refused(path + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                   ": " + std::string(e.description()));
  }
  return buildFromTable(root, path, nodeShards);
}

}  // namespace

MapLoadResult parseShardMap(std::string_view text, const std::string& path,
                            const std::vector<std::string>& nodeShards) {
  try {
    return parseDocument(text, path, nodeShards);
  } catch (const std::exception& e) {
    return refused(path + ": " + e.what());
  }
}

MapLoadResult loadShardMap(const std::string& path, const std::vector<std::string>& nodeShards) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"),
                                                          &std::fclose);
  if (file == nullptr) {
    return refused(path + ": cannot read: " + std::strerror(errno));
  }
  std::string text;
  std::array<char, 65536> buffer;
  size_t got = 0;
  try {
    while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
      text.append(buffer.data(), got);
    }
  } catch (const std::exception& e) {
    return refused(path + ": cannot read: " + e.what());
  }
  if (std::ferror(file.get()) != 0) {
    return refused(path + ": cannot read: " + std::strerror(errno));
  }
  return parseShardMap(text, path, nodeShards);
}

}  // namespace shardline::shardmap
