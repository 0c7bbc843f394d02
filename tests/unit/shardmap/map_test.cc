#include "shardmap/map.h"

#include <string>

#include <doctest/doctest.h>

using namespace shardline::shardmap;

namespace {

TableSpec sharded(std::string name, std::string key, KeyType type,
                  std::optional<std::string> colocateWith = std::nullopt) {
  TableSpec table;
  table.name = {"public", std::move(name)};
  table.keyColumn = std::move(key);
  table.keyType = type;
  if (colocateWith) {
    table.colocateWith = QualifiedName{"public", *colocateWith};
  }
  return table;
}

TableSpec reference(std::string name) {
  TableSpec table;
  table.name = {"public", std::move(name)};
  table.placement = Placement::Reference;
  return table;
}

// users and orders colocated on a bigint user_id, countries a reference table, two shards.
MapSpec usersAndOrders() {
  MapSpec spec;
  spec.version = 7;
  spec.shards = {Shard{"s0", {{0, 2047}}}, Shard{"s1", {{2048, 4095}}}};
  spec.tables = {sharded("users", "user_id", KeyType::BigInt),
                 sharded("orders", "user_id", KeyType::BigInt, "users"), reference("countries")};
  return spec;
}

MapError buildError(const MapSpec& spec) {
  Result<ShardMap, MapError> map = ShardMap::build(spec);
  REQUIRE_FALSE(map.ok());
  return map.error();
}

Key bigint(int64_t value) {
  return Key::fromInt(KeyType::BigInt, value);
}

}  // namespace

TEST_CASE("slots split evenly in order, the first ranges larger by one") {
  CHECK(splitSlotsEvenly(4096, 2) == std::vector<SlotRange>{{0, 2047}, {2048, 4095}});
  CHECK(splitSlotsEvenly(10, 3) == std::vector<SlotRange>{{0, 3}, {4, 6}, {7, 9}});
  CHECK(splitSlotsEvenly(1, 1) == std::vector<SlotRange>{{0, 0}});
  CHECK(splitSlotsEvenly(4, 4) == std::vector<SlotRange>{{0, 0}, {1, 1}, {2, 2}, {3, 3}});
}

TEST_CASE("slot counts are powers of two up to 65536") {
  CHECK(isValidSlotCount(1));
  CHECK(isValidSlotCount(2));
  CHECK(isValidSlotCount(4096));
  CHECK(isValidSlotCount(65536));
  CHECK_FALSE(isValidSlotCount(0));
  CHECK_FALSE(isValidSlotCount(3));
  CHECK_FALSE(isValidSlotCount(1000));
  CHECK_FALSE(isValidSlotCount(131072));
}

TEST_CASE("a key's slot is the top bits of its hash") {
  MapSpec spec;
  spec.shards = {Shard{"s0", {{0, 4095}}}};
  ShardMap map = ShardMap::build(spec).value();
  CHECK(map.slotCount() == 4096);
  CHECK(map.slotForHash(0) == 0);
  CHECK(map.slotForHash(~uint64_t{0}) == 4095);
  CHECK(map.slotForHash(0xABC0000000000000) == 0xABC);
  CHECK(map.slotForHash(0x000FFFFFFFFFFFFF) == 0);

  spec.slotCount = 1;
  spec.shards = {Shard{"s0", {{0, 0}}}};
  ShardMap one = ShardMap::build(spec).value();
  CHECK(one.slotForHash(~uint64_t{0}) == 0);
  CHECK(one.slotForKey(bigint(42)) == 0);

  spec.slotCount = 65536;
  spec.shards = {Shard{"s0", {{0, 65535}}}};
  CHECK(ShardMap::build(spec).value().slotForHash(0xFEDCBA9876543210) == 0xFEDC);
}

TEST_CASE("shards own their slot ranges") {
  MapSpec spec;
  spec.slotCount = 16;
  spec.shards = {Shard{"a", {{0, 3}, {12, 15}}}, Shard{"b", {{4, 11}}}, Shard{"c", {}}};
  ShardMap map = ShardMap::build(spec).value();
  CHECK(map.shardForSlot(0) == 0);
  CHECK(map.shardForSlot(3) == 0);
  CHECK(map.shardForSlot(4) == 1);
  CHECK(map.shardForSlot(11) == 1);
  CHECK(map.shardForSlot(12) == 0);
  CHECK(map.shardForSlot(15) == 0);
  CHECK(map.findShard("b") == 1);
  CHECK(map.findShard("c") == 2);
  CHECK_FALSE(map.findShard("d"));
  CHECK(map.shard(1).name == "b");
  CHECK(map.defaultShard() == 0);
}

TEST_CASE("keys route to the shard owning their slot; colocated tables agree") {
  ShardMap map = ShardMap::build(usersAndOrders()).value();
  CHECK(map.version() == 7);
  const Table* users = map.findTable("public", "users");
  const Table* orders = map.findTable("", "orders");
  REQUIRE(users != nullptr);
  REQUIRE(orders != nullptr);
  CHECK(users->colocationGroup == orders->colocationGroup);

  // K1: 123 and 456 land on different shards (slots 1702 and 3523).
  CHECK(map.shardForKey(*users, bigint(123)) == 0);
  CHECK(map.shardForKey(*users, bigint(456)) == 1);
  for (int64_t id = -500; id < 500; ++id) {
    Key key = bigint(id);
    CHECK(map.shardForKey(*users, key) == map.shardForSlot(map.slotForKey(key)));
    CHECK(map.shardForKey(*users, key) == map.shardForKey(*orders, key));
  }
  // An int parameter for a bigint key routes as the bigint of the same value.
  CHECK(map.shardForKey(*users, Key::fromInt(KeyType::Int, 456)) == 1);
  // A key of another family, or a table that is not sharded, has no shard.
  CHECK_FALSE(map.shardForKey(*users, Key::fromText(KeyType::Text, "456")));
  const Table* countries = map.findTable("public", "countries");
  REQUIRE(countries != nullptr);
  CHECK(countries->placement == Placement::Reference);
  CHECK_FALSE(map.shardForKey(*countries, bigint(1)));
}

TEST_CASE("tables are found by their exact resolved names") {
  MapSpec spec = usersAndOrders();
  TableSpec model = sharded("Model", "Id", KeyType::Uuid);
  model.name.schema = "Sys";
  spec.tables.push_back(model);
  ShardMap map = ShardMap::build(spec).value();
  CHECK(map.findTable("Sys", "Model") != nullptr);
  CHECK(map.findTable("sys", "model") == nullptr);
  CHECK(map.findTable("public", "Users") == nullptr);
  CHECK(map.findTable("app", "users") == nullptr);
  CHECK(map.findTable("public", "items") == nullptr);
  REQUIRE(map.tables().size() == 4);
  CHECK(map.tables()[3].keyColumn == "Id");
}

TEST_CASE("colocation groups follow colocate_with chains") {
  MapSpec spec = usersAndOrders();
  spec.tables.push_back(sharded("items", "user_id", KeyType::BigInt, "orders"));
  spec.tables.push_back(sharded("events", "id", KeyType::BigInt));
  spec.tables.push_back(sharded("carts", "user_id", KeyType::BigInt, "items"));
  ShardMap map = ShardMap::build(spec).value();
  uint32_t group = map.findTable("", "users")->colocationGroup;
  CHECK(map.findTable("", "items")->colocationGroup == group);
  CHECK(map.findTable("", "carts")->colocationGroup == group);
  CHECK(map.findTable("", "events")->colocationGroup != group);

  // Order in the spec does not matter: a table may name one defined after it.
  MapSpec reversed = usersAndOrders();
  std::swap(reversed.tables[0], reversed.tables[1]);
  ShardMap other = ShardMap::build(reversed).value();
  CHECK(other.findTable("", "users")->colocationGroup ==
        other.findTable("", "orders")->colocationGroup);
}

TEST_CASE("the default shard holds tables not named in the map") {
  MapSpec spec = usersAndOrders();
  spec.defaultShard = "s1";
  CHECK(ShardMap::build(spec).value().defaultShard() == 1);
  spec.defaultShard = "s9";
  MapError error = buildError(spec);
  CHECK(error.part == MapError::Part::DefaultShard);
  CHECK(error.what == "names no shard in the map: \"s9\"");
}

TEST_CASE("slot ownership must be complete and unique") {
  MapSpec spec = usersAndOrders();
  spec.slotCount = 1000;
  MapError error = buildError(spec);
  CHECK(error.part == MapError::Part::SlotCount);
  CHECK(error.what == "must be a power of two between 1 and 65536 (got 1000)");

  spec = usersAndOrders();
  spec.shards[1].slots = {{2048, 4000}};
  error = buildError(spec);
  CHECK(error.part == MapError::Part::Shards);
  CHECK(error.what == "slots 4001-4095 are owned by no shard");

  spec.shards[1].slots = {{2048, 4094}};
  CHECK(buildError(spec).what == "slot 4095 is owned by no shard");

  spec.shards[1].slots = {{2000, 4095}};
  error = buildError(spec);
  CHECK(error.part == MapError::Part::ShardSlots);
  CHECK(error.index == 1);
  CHECK(error.firstIndex == 0);
  CHECK(error.what == "slots 2000-2047 are already owned by shard \"s0\"");

  spec.shards[1].slots = {{2048, 4096}};
  CHECK(buildError(spec).what == "slot 4096 is beyond the last slot, 4095");
  spec.shards[1].slots = {{4095, 2048}};
  CHECK(buildError(spec).what == "range 4095-2048 ends before it begins");
  spec.shards[1].slots = {{2048, 3000}, {3000, 4095}};
  CHECK(buildError(spec).what == "slot 3000 is already owned by shard \"s1\"");

  spec.shards.clear();
  CHECK(buildError(spec).what == "the map has no shards");
}

TEST_CASE("shard and table names are unique") {
  MapSpec spec = usersAndOrders();
  spec.shards.push_back(Shard{"s0", {}});
  MapError error = buildError(spec);
  CHECK(error.part == MapError::Part::ShardName);
  CHECK(error.index == 2);
  CHECK(error.firstIndex == 0);
  CHECK(error.what == "duplicate shard \"s0\"");

  spec = usersAndOrders();
  spec.tables.push_back(reference("users"));
  error = buildError(spec);
  CHECK(error.part == MapError::Part::TableName);
  CHECK(error.index == 3);
  CHECK(error.firstIndex == 0);
  CHECK(error.what == "duplicate table public.users");
}

TEST_CASE("colocated tables must be sharded on the same key type") {
  MapSpec spec = usersAndOrders();
  spec.tables[1].keyType = KeyType::Int;
  MapError error = buildError(spec);
  CHECK(error.part == MapError::Part::ColocateWith);
  CHECK(error.index == 1);
  CHECK(error.what ==
        "public.users has key type bigint, this table int: colocated tables need the same type");

  spec = usersAndOrders();
  spec.tables[1].colocateWith = QualifiedName{"public", "userz"};
  CHECK(buildError(spec).what == "names no table in the map: public.userz");

  spec.tables[1].colocateWith = QualifiedName{"public", "countries"};
  CHECK(buildError(spec).what == "public.countries is a reference table, not a sharded one");

  spec = usersAndOrders();
  spec.tables[2].colocateWith = QualifiedName{"public", "users"};
  CHECK(buildError(spec).what == "a reference table is on every shard and has nothing to colocate");
}

TEST_CASE("a content version names the spec's content") {
  MapSpec spec = usersAndOrders();
  uint64_t version = contentVersion(spec);
  CHECK(version > 0);
  CHECK(version <= uint64_t{INT64_MAX});
  CHECK(contentVersion(usersAndOrders()) == version);
  spec.shards[0].slots = {{0, 2046}};
  CHECK(contentVersion(spec) != version);
  spec = usersAndOrders();
  spec.tables[1].keyColumn = "id";
  CHECK(contentVersion(spec) != version);
  spec = usersAndOrders();
  spec.defaultShard = "s1";
  CHECK(contentVersion(spec) != version);
}
