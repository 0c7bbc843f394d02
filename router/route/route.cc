#include "router/route/route.h"

#include <algorithm>
#include <cstdint>

#include "shardmap/key.h"

namespace shardline::route {

namespace {

using shardmap::Key;
using shardmap::KeyType;
using shardmap::Placement;
using shardmap::ShardMap;
using shardmap::Table;
using sql::Analysis;
using sql::StatementKind;
using sql::TableRef;
using sql::ValueRef;

using Keys = std::vector<Key>;

uint32_t readBig32(std::string_view bytes, size_t at) {
  return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
         (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
}

// The elements of an array in text form ({1,2,"a b"}); NULL elements are left out.
std::optional<std::vector<std::string>> textArrayElements(std::string_view text) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::string item;
  bool quoted = false;
  bool wasQuoted = false;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (quoted && c == '\\' && i + 2 < text.size()) {
      item += text[++i];
    } else if (c == '"') {
      quoted = !quoted;
      wasQuoted = true;
    } else if (c == ',' && !quoted) {
      if (wasQuoted || item != "NULL") {
        out.push_back(item);
      }
      item.clear();
      wasQuoted = false;
    } else if (c == '{' && !quoted) {
      return std::nullopt;  // multidimensional: not a list of keys
    } else {
      item += c;
    }
  }
  if (wasQuoted || (!item.empty() && item != "NULL")) {
    out.push_back(item);
  }
  return out;
}

// The elements of a one-dimensional array in binary form.
std::optional<std::vector<std::string>> binaryArrayElements(std::string_view bytes) {
  if (bytes.size() < 12) {
    return std::nullopt;
  }
  uint32_t dimensions = readBig32(bytes, 0);
  if (dimensions == 0) {
    return std::vector<std::string>{};
  }
  if (dimensions != 1 || bytes.size() < 20) {
    return std::nullopt;
  }
  uint32_t count = readBig32(bytes, 12);
  size_t at = 20;
  std::vector<std::string> out;
  for (uint32_t i = 0; i < count; ++i) {
    if (at + 4 > bytes.size()) {
      return std::nullopt;
    }
    auto length = int32_t(readBig32(bytes, at));
    at += 4;
    if (length < 0) {
      continue;
    }
    if (at + size_t(length) > bytes.size()) {
      return std::nullopt;
    }
    out.emplace_back(bytes.substr(at, size_t(length)));
    at += size_t(length);
  }
  return out;
}

// Whether a binary value of type `oid` (0: left to Postgres, which then takes the key
// column's type) holds a key of `type`'s family in its own form. A float8 is 8 bytes like an
// int8, but not the same bytes.
bool binaryTypeFits(KeyType type, uint32_t oid) {
  if (oid == 0) {
    return true;
  }
  switch (shardmap::keyFamily(type)) {
    case shardmap::KeyFamily::Integer:
      return oid == 20 || oid == 21 || oid == 23 || oid == 1016 || oid == 1005 || oid == 1007;
    case shardmap::KeyFamily::Text:
      return oid == 25 || oid == 1043 || oid == 1042 || oid == 19 || oid == 705 || oid == 1009 ||
             oid == 1015 || oid == 1014 || oid == 1003;
    case shardmap::KeyFamily::Uuid:
      return oid == 2950 || oid == 2951;
  }
  return false;
}

std::optional<Key> parseKey(KeyType type, std::string_view value, bool binary) {
  auto parsed =
      binary ? shardmap::parseKeyBinary(type, value) : shardmap::parseKeyText(type, value);
  if (!parsed.ok()) {
    return std::nullopt;
  }
  return parsed.value();
}

// The keys a value stands for in this execution; nullopt when not known
// (an expression, a missing parameter, NULL, or a value not of the key's type).
std::optional<Keys> keysOf(const ValueRef& value, KeyType type, const RouteInput& in) {
  std::string text;
  bool binary = false;
  if (value.source == ValueRef::Source::Constant && value.index < in.shape.constants.size()) {
    text = std::string(in.shape.constants[value.index].view());
    if (value.negated) {
      text.insert(text.begin(), '-');
    }
  } else if (value.source == ValueRef::Source::Parameter && value.index >= 1 &&
             value.index <= in.parameters.size() && in.parameters[value.index - 1].value) {
    const Parameter& parameter = in.parameters[value.index - 1];
    text = *parameter.value;
    binary = parameter.binary;
    if (binary && !binaryTypeFits(type, parameter.type)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (!value.array) {
    auto key = parseKey(type, text, binary);
    return key ? std::optional<Keys>(Keys{*key}) : std::nullopt;
  }
  if (binary && (text.size() < 12 || !binaryTypeFits(type, readBig32(text, 8)))) {
    return std::nullopt;  // the array's element type, from its header
  }
  auto elements = binary ? binaryArrayElements(text) : textArrayElements(text);
  if (!elements) {
    return std::nullopt;
  }
  Keys keys;
  for (const auto& element : *elements) {
    auto key = parseKey(type, element, binary);
    if (!key) {
      return std::nullopt;
    }
    keys.push_back(*key);
  }
  return keys;
}

struct Resolved {
  const TableRef* ref;
  const Table* table;  // null: a table the map does not name
};

std::string qualified(const TableRef& ref, const std::string& searchSchema) {
  return (ref.schema.empty() ? searchSchema : ref.schema) + "." + ref.name;
}

std::vector<Resolved> resolveTables(const ShardMap& map, const Analysis& analysis,
                                    const RouteInput& in) {
  std::vector<Resolved> out;
  for (const TableRef& ref : analysis.tables) {
    const Table* table = nullptr;
    if (!ref.schema.empty()) {
      table = map.findTable(ref.schema, ref.name);
    } else if (in.searchPath.empty()) {
      table = map.findTable(in.searchSchema, ref.name);
    } else {
      for (const std::string& schema : in.searchPath) {
        table = map.findTable(schema, ref.name);
        if (table != nullptr) {
          break;
        }
      }
    }
    out.push_back(Resolved{&ref, table});
  }
  return out;
}

std::string shardNames(const ShardMap& map, const Route& route) {
  std::string out;
  for (ShardIndex shard : route.shards) {
    out += (out.empty() ? "" : ", ") + map.shard(shard).name;
  }
  return out;
}

// System catalogs exist on every shard, so reading them pins nothing.
bool isCatalog(const TableRef& ref) {
  if (ref.schema.empty()) {
    return ref.name.starts_with("pg_");  // pg_catalog comes first on every search_path
  }
  return ref.schema == "pg_catalog" || ref.schema == "information_schema";
}

size_t shardedReferences(const std::vector<Resolved>& tables) {
  return size_t(std::count_if(tables.begin(), tables.end(), [](const Resolved& resolved) {
    return resolved.table != nullptr && resolved.table->placement == Placement::Sharded;
  }));
}

// Whether every sharded table reference is pinned to the same keys (a join on the shard key
// with the key given): then each key's rows, of every table, are on that key's shard.
bool sameKeys(const RouteInput& in, const std::vector<Resolved>& tables) {
  std::optional<std::vector<uint64_t>> first;
  for (const auto& resolved : tables) {
    if (resolved.table == nullptr || resolved.table->placement != Placement::Sharded) {
      continue;
    }
    const sql::ColumnPin* pin = resolved.ref->pin(resolved.table->keyColumn);
    if (pin == nullptr) {
      return false;
    }
    std::vector<uint64_t> hashes;
    for (const auto& value : pin->values) {
      auto keys = keysOf(value, resolved.table->keyType, in);
      if (!keys) {
        return false;
      }
      for (const Key& key : *keys) {
        hashes.push_back(key.hash());
      }
    }
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    if (first && *first != hashes) {
      return false;
    }
    first = std::move(hashes);
  }
  return true;
}

// A table the map does not name lives whole on the default shard.
bool readsUnmappedTable(const std::vector<Resolved>& tables) {
  return std::any_of(tables.begin(), tables.end(), [](const Resolved& resolved) {
    return resolved.table == nullptr && !isCatalog(*resolved.ref);
  });
}

void addShard(Route& route, ShardIndex shard) {
  if (std::find(route.shards.begin(), route.shards.end(), shard) == route.shards.end()) {
    route.shards.push_back(shard);
  }
}

Route fail(std::string_view sqlstate, std::string message) {
  Route route;
  route.error = RouteError{sqlstate, std::move(message), std::nullopt};
  return route;
}

Route allShards(const ShardMap& map, std::string reason) {
  Route route;
  route.all = true;
  for (ShardIndex i = 0; i < map.shards().size(); ++i) {
    route.shards.push_back(i);
  }
  route.reason = std::move(reason);
  return route;
}

Route oneShard(ShardIndex shard, std::string reason) {
  Route route;
  route.shards.push_back(shard);
  route.reason = std::move(reason);
  return route;
}

Route anyShard(const ShardMap& map, std::string reason) {
  Route route = oneShard(map.defaultShard(), std::move(reason));
  route.any = true;
  return route;
}

// A hint in a comment wins over everything the statement says.
std::optional<Route> fromHints(const ShardMap& map, const RouteInput& in,
                               const std::vector<Resolved>& tables) {
  if (!in.hints.error.empty()) {
    return fail(kBadHint, in.hints.error);
  }
  for (const auto& hint : in.hints.items) {
    if (hint.key == "role" && hint.value != "primary" && hint.value != "replica") {
      return fail(kBadHint, "shardline hint role=" + hint.value +
                                " names no role: use "
                                "role=primary or role=replica");
    }
  }
  for (const auto& hint : in.hints.items) {
    const std::string& name = hint.key;
    const std::string& value = hint.value;
    if (name == "shard") {
      auto shard = map.findShard(value);
      if (!shard) {
        return fail(kBadHint, "shardline hint names unknown shard \"" + value + "\"");
      }
      return oneShard(*shard, "hint shard=" + value);
    }
    if (name == "key") {
      KeyType type = KeyType::BigInt;
      for (const auto& resolved : tables) {
        if (resolved.table != nullptr && resolved.table->placement == Placement::Sharded) {
          type = resolved.table->keyType;
          break;
        }
      }
      auto key = parseKey(type, value, false);
      if (!key) {
        return fail(kBadHint, "shardline hint key=" + value + " is not a valid " +
                                  std::string(shardmap::keyTypeName(type)) + " key");
      }
      uint32_t slot = map.slotForKey(*key);
      return oneShard(map.shardForSlot(slot),
                      "hint key=" + value + " -> slot " + std::to_string(slot));
    }
  }
  for (const auto& hint : in.hints.items) {
    if (hint.key != "role") {
      return fail(kBadHint, "unknown shardline hint \"" + hint.key + "\"");
    }
  }
  return std::nullopt;
}

// INSERT ... VALUES into a sharded table: each row to the shard of its key.
Route routeInsert(const ShardMap& map, const RouteInput& in, const TableRef& ref,
                  const Table& table) {
  const auto& insert = in.analysis.insert;
  std::string name = qualified(ref, in.searchSchema);
  if (insert.fromSelect || insert.defaultValues) {
    return fail(kNotSupported, "INSERT into sharded table " + name +
                                   " needs VALUES rows that give " + table.keyColumn);
  }
  // Without a column list, the values follow the table's columns in catalog order.
  const std::vector<std::string>* columns = &insert.columns;
  if (insert.columns.empty()) {
    columns = in.columns ? in.columns(table.name) : nullptr;
    if (columns == nullptr) {
      Route route =
          fail(kNeedsColumnList, "INSERT into sharded table " + name +
                                     " needs a column list that names " + table.keyColumn);
      route.error->needsColumnsOf = table.name;
      return route;
    }
  }
  auto column = std::find(columns->begin(), columns->end(), table.keyColumn);
  if (column == columns->end()) {
    return fail(kMissingKey,
                "INSERT into sharded table " + name + " does not give its key " + table.keyColumn);
  }
  size_t position = size_t(column - columns->begin());
  Route route;
  for (const auto& row : insert.rows) {
    auto keys = position < row.size() ? keysOf(row[position], table.keyType, in) : std::nullopt;
    if (!keys || keys->size() != 1) {
      return fail(kMissingKey, "INSERT into sharded table " + name + ": the value of " +
                                   table.keyColumn + " must be a constant or a parameter");
    }
    ShardIndex shard = map.shardForSlot(map.slotForKey(keys->front()));
    route.rowShards.push_back(shard);
    addShard(route, shard);
  }
  std::sort(route.shards.begin(), route.shards.end());
  route.reason = "INSERT rows by " + name + "." + table.keyColumn;
  route.keyed = true;
  if (route.shards.size() <= 1) {
    route.rowShards.clear();
  }
  return route;
}

std::optional<std::string> mergeNeeded(const Analysis& analysis) {
  const auto& s = analysis.select;
  if (s.orderBy) {
    return "ORDER BY";
  }
  if (s.limit || s.offset) {
    return "LIMIT/OFFSET";
  }
  if (s.distinct || s.distinctOn) {
    return "DISTINCT";
  }
  if (s.groupBy || s.having || s.aggregates) {
    return "aggregates";
  }
  if (s.windowFunctions) {
    return "window functions";
  }
  if (s.setOperation) {
    return "UNION/INTERSECT/EXCEPT";
  }
  return std::nullopt;
}

// Reads, UPDATE and DELETE: the shards every sharded table's key pins.
Route routeByPins(const ShardMap& map, const RouteInput& in, const std::vector<Resolved>& tables) {
  Route route;
  std::string unpinned;
  for (const auto& resolved : tables) {
    if (resolved.table == nullptr || resolved.table->placement != Placement::Sharded) {
      continue;
    }
    const Table& table = *resolved.table;
    const sql::ColumnPin* pin = resolved.ref->pin(table.keyColumn);
    std::optional<Keys> keys;
    if (pin != nullptr) {
      keys = Keys{};
      for (const auto& value : pin->values) {
        auto some = keysOf(value, table.keyType, in);
        if (!some) {
          keys.reset();
          break;
        }
        keys->insert(keys->end(), some->begin(), some->end());
      }
    }
    if (!keys) {
      unpinned = qualified(*resolved.ref, in.searchSchema);
      break;
    }
    for (const Key& key : *keys) {
      addShard(route, map.shardForSlot(map.slotForKey(key)));
    }
    route.reason += (route.reason.empty() ? "" : ", ") + qualified(*resolved.ref, in.searchSchema) +
                    "." + table.keyColumn + " pinned";
  }
  if (!unpinned.empty()) {
    Route all = allShards(map, "no key for " + unpinned);
    return all;
  }
  std::sort(route.shards.begin(), route.shards.end());
  if (route.shards.empty()) {
    // Keys that match nothing (an empty IN list): any shard answers with no rows.
    return anyShard(map, "no row can match");
  }
  route.keyed = true;
  return route;
}

// UPDATE ... SET key, MERGE ... UPDATE SET key, INSERT ... ON CONFLICT DO UPDATE SET key.
std::optional<Route> refuseKeyChange(const RouteInput& in, const std::vector<Resolved>& tables) {
  const Analysis& analysis = in.analysis;
  if (analysis.target < 0 || size_t(analysis.target) >= tables.size()) {
    return std::nullopt;
  }
  const Resolved& target = tables[size_t(analysis.target)];
  if (target.table == nullptr || target.table->placement != Placement::Sharded) {
    return std::nullopt;
  }
  const std::vector<std::string>* set = nullptr;
  if (analysis.kind == StatementKind::Update || analysis.kind == StatementKind::Merge) {
    set = &analysis.update.setColumns;
  } else if (analysis.kind == StatementKind::Insert) {
    set = &analysis.insert.conflictSetColumns;
  }
  const std::string& key = target.table->keyColumn;
  if (set == nullptr || std::find(set->begin(), set->end(), key) == set->end()) {
    return std::nullopt;
  }
  return fail(kKeyChange, "cannot change the shard key " + qualified(*target.ref, in.searchSchema) +
                              "." + key + ": a row cannot move to another shard");
}

Route decideStatement(const ShardMap& map, const RouteInput& in) {
  const Analysis& analysis = in.analysis;
  if (!analysis.ok()) {
    return anyShard(map, "not parsed: the default shard reports the error");
  }
  std::vector<Resolved> tables = resolveTables(map, analysis, in);
  if (auto refused = refuseKeyChange(in, tables)) {
    return *refused;  // a hint cannot make a row move to another shard either
  }
  if (auto hinted = fromHints(map, in, tables)) {
    if (hinted->error) {
      return *hinted;
    }
    // A hint picks the shard of a statement that names none itself; one that contradicts
    // the statement's own key would read the wrong shard or put a row where it does not
    // belong.
    sql::Hints none;
    RouteInput plain{in.analysis,   in.shape,        none,
                     in.parameters, in.searchSchema, in.allowMultishardWrites,
                     in.columns,    in.searchPath};
    Route natural = decideStatement(map, plain);
    bool definite = natural.keyed && !natural.error && !natural.all && !natural.any;
    if (definite && natural.shards != hinted->shards) {
      return fail(kBadHint, "the shardline hint (" + hinted->reason +
                                ") contradicts the statement's own key, which is on shard " +
                                map.shard(natural.shards.front()).name);
    }
    return *hinted;
  }

  // Which kinds of tables the statement touches.
  const Resolved* sharded = nullptr;
  bool referenceWritten = false;
  bool referenceRead = false;
  const TableRef* otherWritten = nullptr;  // a written table that is not sharded
  for (const auto& resolved : tables) {
    if (resolved.ref->written &&
        (resolved.table == nullptr || resolved.table->placement == Placement::Reference)) {
      otherWritten = resolved.ref;
    }
    if (resolved.table == nullptr) {
      continue;
    }
    if (resolved.table->placement == Placement::Reference) {
      referenceWritten = referenceWritten || resolved.ref->written;
      referenceRead = true;
      continue;
    }
    bool ddl = analysis.kind == StatementKind::Ddl;  // runs on every shard whatever its tables
    if (!ddl && sharded != nullptr &&
        sharded->table->colocationGroup != resolved.table->colocationGroup) {
      // Decided from the statement's shape alone, never from where its keys happen to hash.
      return fail(kNotColocated,
                  "tables " + qualified(*sharded->ref, in.searchSchema) + " and " +
                      qualified(*resolved.ref, in.searchSchema) +
                      " are sharded but not colocated: a statement may use only colocated "
                      "sharded tables");
    }
    if (sharded == nullptr) {
      sharded = &resolved;
    }
  }

  if (analysis.node == "PrepareStmt" && (sharded != nullptr || referenceRead)) {
    // TODO: keep SQL PREPARE with the client and route each EXECUTE by its arguments.
    const TableRef& ref = sharded != nullptr ? *sharded->ref : *tables.front().ref;
    return fail(kNotSupported, "SQL PREPARE of a statement on sharded or reference table " +
                                   qualified(ref, in.searchSchema) +
                                   " is not supported yet: its shard is known only at EXECUTE; "
                                   "use the driver's protocol-level prepared statements");
  }
  if (analysis.kind == StatementKind::Ddl) {
    if (sharded != nullptr || referenceRead) {
      Route route = allShards(map, "DDL on a sharded or reference table goes to every shard");
      route.copies = true;
      return route;
    }
    if (readsUnmappedTable(tables)) {
      return oneShard(map.defaultShard(), "DDL on tables the map does not name: the default shard");
    }
    // Schemas, types, functions, extensions, roles: every shard needs them.
    Route route = allShards(map, "DDL on no table: every shard");
    route.copies = true;
    return route;
  }
  if (sharded == nullptr) {
    if (referenceWritten) {
      Route route = allShards(map, "write to a reference table goes to every shard");
      route.copies = true;
      return route;
    }
    if (readsUnmappedTable(tables)) {
      return oneShard(map.defaultShard(), "tables the map does not name: the default shard");
    }
    return anyShard(map,
                    referenceRead ? "reference tables only: any shard" : "no table: any shard");
  }

  const Table& table = *sharded->table;
  std::string name = table.name.toString();
  if (otherWritten != nullptr && analysis.kind != StatementKind::Ddl) {
    // The written table lives elsewhere (every shard, or the default shard) than the rows read.
    return fail(kNotSupported, "writing " + qualified(*otherWritten, in.searchSchema) +
                                   " from sharded table " + name + " is not supported");
  }
  if (analysis.kind == StatementKind::Insert && analysis.target >= 0 &&
      &analysis.tables[size_t(analysis.target)] == sharded->ref) {
    return routeInsert(map, in, *sharded->ref, table);
  }
  if (analysis.kind == StatementKind::Copy) {
    if (analysis.copy.direction == sql::CopyDirection::From) {
      Route route = allShards(map, "COPY FROM into " + name + ": rows split by " + table.keyColumn);
      route.splitCopy = true;
      return route;
    }
    if (!analysis.copy.query) {
      return allShards(map, "COPY TO from " + name + ": every shard's rows");
    }
  }

  Route route = routeByPins(map, in, tables);
  if (route.shards.size() > 1 && analysis.kind == StatementKind::Copy) {
    // TODO: merge COPY (query) TO over several shards as a scatter read does.
    return fail(kNotSupported,
                "COPY (query) TO over several shards is not supported yet (table " + name + ")");
  }
  if (route.shards.size() > 1 && shardedReferences(tables) > 1 && !sameKeys(in, tables)) {
    // Each shard would combine only its own rows: right for joins on the shard key, wrong
    // for any other combination, and the router does not check which it is.
    return fail(kNotSupported,
                "a statement over several shards that uses more than one sharded table "
                "reference is not supported yet (table " +
                    name + "): give the shard key of each");
  }
  if (route.shards.size() > 1 && analysis.kind == StatementKind::Select) {
    if (auto merge = mergeNeeded(analysis)) {
      return fail(
          kNotSupported,
          "merging " + *merge + " over several shards is not supported yet (table " + name + ")");
    }
  }
  if (route.shards.size() > 1 && !analysis.readOnly && !in.allowMultishardWrites && !route.all) {
    return fail(kMissingKey, "a statement that writes or locks rows of sharded table " + name +
                                 " names keys on several shards (" + shardNames(map, route) +
                                 "), and multi-shard writes are off: send one statement per "
                                 "shard");
  }
  if (route.shards.size() > 1 && !analysis.readOnly && !in.allowMultishardWrites) {
    return fail(kMissingKey, "a statement that writes or locks rows of sharded table " + name +
                                 " must give its key " + table.keyColumn +
                                 ": it would run on several shards, and multi-shard writes "
                                 "are off");
  }
  return route;
}

}  // namespace

Route decide(const ShardMap& map, const RouteInput& input) {
  if (input.analysis.kind == StatementKind::Explain && input.analysis.explain.statement) {
    RouteInput inner{*input.analysis.explain.statement,
                     input.shape,
                     input.hints,
                     input.parameters,
                     input.searchSchema,
                     input.allowMultishardWrites,
                     input.columns,
                     input.searchPath};
    return decideStatement(map, inner);
  }
  return decideStatement(map, input);
}

std::string describe(const ShardMap& map, const Route& route) {
  if (route.error) {
    return "error " + std::string(route.error->sqlstate) + ": " + route.error->message;
  }
  if (route.all) {
    return "all";
  }
  std::string out;
  for (ShardIndex shard : route.shards) {
    out += (out.empty() ? "" : ",") + map.shard(shard).name;
  }
  return route.any ? "any (" + out + ")" : out;
}

}  // namespace shardline::route
