#include "shardmap/config_store.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

using namespace shardline::shardmap;

namespace {

constexpr const char* kPath = "t.toml";
const std::vector<std::string> kNoNodes;

std::shared_ptr<const ShardMap> parsed(const std::string& text,
                                       const std::vector<std::string>& nodeShards = kNoNodes) {
  MapLoadResult result = parseShardMap(text, kPath, nodeShards);
  REQUIRE_MESSAGE(result.map != nullptr, result.error);
  CHECK(result.error.empty());
  return result.map;
}

std::string errorOf(const std::string& text,
                    const std::vector<std::string>& nodeShards = kNoNodes) {
  MapLoadResult result = parseShardMap(text, kPath, nodeShards);
  CHECK(result.map == nullptr);
  return result.error;
}

// The example of the shard map's sections, as documented.
const std::string kSharding = R"([sharding]
slots = 4096
default_shard = "s0"

[[shards]]
name = "s0"
slots = ["0-2047"]

[[shards]]
name = "s1"
slots = ["2048-4095"]

[[tables]]
name = "users"
key = "user_id"
type = "bigint"

[[tables]]
name = "orders"
key = "user_id"
type = "bigint"
colocate_with = "users"

[[tables]]
name = "countries"
reference = true
)";

// Two shards s0 and s1 with the slots of kSharding, for tests about [[tables]].
const std::string kShards = R"([[shards]]
name = "s0"
slots = ["0-2047"]
[[shards]]
name = "s1"
slots = ["2048-4095"]
)";

// The router's own sections, which the shard map's loader skips.
const std::string kRouterSections = R"(workers = 2
[listen]
port = 7432
[[users]]
name = "app"
[[nodes]]
name = "s0-primary"
shard = "s0"
role = "primary"
host = "127.0.0.1"
[[nodes]]
name = "s1-primary"
shard = "s1"
role = "primary"
host = "127.0.0.1"
)";

std::vector<SlotRange> slotsOf(const ShardMap& map, std::string_view shard) {
  return map.shard(map.findShard(shard).value()).slots;
}

}  // namespace

TEST_CASE("the documented example loads") {
  std::shared_ptr<const ShardMap> map = parsed(kSharding);
  CHECK(map->slotCount() == 4096);
  REQUIRE(map->shards().size() == 2);
  CHECK(map->shard(0).name == "s0");
  CHECK(slotsOf(*map, "s0") == std::vector<SlotRange>{{0, 2047}});
  CHECK(slotsOf(*map, "s1") == std::vector<SlotRange>{{2048, 4095}});
  CHECK(map->defaultShard() == 0);
  CHECK(map->version() > 0);

  const Table* users = map->findTable("public", "users");
  const Table* orders = map->findTable("public", "orders");
  const Table* countries = map->findTable("public", "countries");
  REQUIRE(users != nullptr);
  REQUIRE(orders != nullptr);
  REQUIRE(countries != nullptr);
  CHECK(users->placement == Placement::Sharded);
  CHECK(users->keyColumn == "user_id");
  CHECK(users->keyType == KeyType::BigInt);
  CHECK(orders->colocationGroup == users->colocationGroup);
  CHECK(countries->placement == Placement::Reference);
  CHECK(map->shardForKey(*users, Key::fromInt(KeyType::BigInt, 123)) == 0);
  CHECK(map->shardForKey(*orders, Key::fromInt(KeyType::BigInt, 456)) == 1);
}

TEST_CASE("the router's sections are skipped") {
  std::shared_ptr<const ShardMap> map =
      parsed(kRouterSections + "[pool]\nanything = 1\n" + kSharding);
  CHECK(map->shards().size() == 2);
  CHECK(map->version() == parsed(kSharding)->version());
}

TEST_CASE("names are folded as Postgres folds unquoted identifiers (K5)") {
  std::shared_ptr<const ShardMap> map = parsed(kShards + R"(
[[tables]]
name = "Users"
key = "User_ID"
type = "BIGINT"
[[tables]]
name = 'App."Orders"'
key = '"User_ID"'
type = "int8"
[[tables]]
name = '"Sys"."Model"'
key = "id"
type = "uuid"
)");
  const Table* users = map->findTable("public", "users");
  REQUIRE(users != nullptr);
  CHECK(users->keyColumn == "user_id");
  const Table* orders = map->findTable("app", "Orders");
  REQUIRE(orders != nullptr);
  CHECK(orders->keyColumn == "User_ID");
  CHECK(orders->keyType == KeyType::BigInt);
  CHECK(map->findTable("Sys", "Model") != nullptr);
  CHECK(map->findTable("public", "Users") == nullptr);
}

TEST_CASE("without [[shards]], the shards are the router's, split evenly") {
  std::vector<std::string> nodeShards{"s0", "s0", "s1", "s1", "s2"};
  std::shared_ptr<const ShardMap> map = parsed(kRouterSections, nodeShards);
  CHECK(map->slotCount() == 4096);
  REQUIRE(map->shards().size() == 3);
  CHECK(map->shard(0).name == "s0");
  CHECK(map->shard(2).name == "s2");
  CHECK(slotsOf(*map, "s0") == std::vector<SlotRange>{{0, 1365}});
  CHECK(slotsOf(*map, "s1") == std::vector<SlotRange>{{1366, 2730}});
  CHECK(slotsOf(*map, "s2") == std::vector<SlotRange>{{2731, 4095}});
  CHECK(map->tables().empty());

  map = parsed("[sharding]\nslots = 8\ndefault_shard = \"s1\"\n", {"s1", "s0"});
  CHECK(slotsOf(*map, "s1") == std::vector<SlotRange>{{0, 3}});
  CHECK(slotsOf(*map, "s0") == std::vector<SlotRange>{{4, 7}});
  CHECK(map->defaultShard() == 0);

  map = parsed("", {"only"});
  CHECK(map->shards().size() == 1);
  CHECK(slotsOf(*map, "only") == std::vector<SlotRange>{{0, 4095}});
}

TEST_CASE("[[shards]] without slots split them evenly in file order") {
  std::shared_ptr<const ShardMap> map = parsed(
      "[sharding]\nslots = 16\n[[shards]]\nname = \"b\"\n[[shards]]\nname = \"a\"\n"
      "[[shards]]\nname = \"c\"\n");
  CHECK(slotsOf(*map, "b") == std::vector<SlotRange>{{0, 5}});
  CHECK(slotsOf(*map, "a") == std::vector<SlotRange>{{6, 10}});
  CHECK(slotsOf(*map, "c") == std::vector<SlotRange>{{11, 15}});
}

TEST_CASE("slot lists take ranges and single slots") {
  std::shared_ptr<const ShardMap> map = parsed(R"([sharding]
slots = 8
[[shards]]
name = "s0"
slots = ["0-2", " 5 ", "7"]
[[shards]]
name = "s1"
slots = ["3 - 4", "6-6"]
[[shards]]
name = "new"
slots = []
)");
  CHECK(slotsOf(*map, "s0") == std::vector<SlotRange>{{0, 2}, {5, 5}, {7, 7}});
  CHECK(map->shardForSlot(6) == 1);
  CHECK(slotsOf(*map, "new").empty());
  CHECK(map->slotCount() == 8);
}

TEST_CASE("slot ownership errors name the line") {
  CHECK(errorOf("[[shards]]\nname = \"s0\"\nslots = [\"0-2047\"]\n[[shards]]\nname = \"s1\"\n"
                "slots = [\"2048-4000\"]\n") ==
        "t.toml:1: shards: slots 4001-4095 are owned by no shard");
  CHECK(errorOf("[[shards]]\nname = \"s0\"\nslots = [\"0-2047\"]\n[[shards]]\nname = \"s1\"\n"
                "slots = [\"2000-4095\"]\n") ==
        "t.toml:6: shards[1].slots: slots 2000-2047 are already owned by shard \"s0\" "
        "(shards[0] on line 3)");
  CHECK(errorOf("[[shards]]\nname = \"s0\"\nslots = [\"0-4096\"]\n") ==
        "t.toml:3: shards[0].slots: slot 4096 is beyond the last slot, 4095");
  CHECK(errorOf("[[shards]]\nname = \"s0\"\nslots = [\"0-10\", \"x\"]\n") ==
        "t.toml:3: shards[0].slots: \"x\" is neither a slot nor a range of slots "
        "(\"first-last\")");
  CHECK(errorOf("[[shards]]\nname = \"s0\"\nslots = [\"-1\"]\n")
            .starts_with("t.toml:3: shards[0].slots: \"-1\" is neither"));
  CHECK(errorOf("[[shards]]\nname = \"s0\"\nslots = [0]\n") ==
        "t.toml:3: shards[0].slots: must be an array of strings (found an integer)");
  CHECK(errorOf("[[shards]]\nname = \"s0\"\nslots = [\"0-4095\"]\n[[shards]]\nname = \"s1\"\n") ==
        "t.toml:4: shards[1].slots: is required, since shards[0] (line 3) lists its slots: "
        "list them for every shard or for none");
}

TEST_CASE("shard errors name the line") {
  CHECK(errorOf("[[shards]]\nname = \"s0\"\n[[shards]]\nname = \"s1\"\n[[shards]]\n"
                "name = \"s0\"\n") ==
        "t.toml:6: shards[2].name: duplicate shard \"s0\" (first defined on line 2)");
  CHECK(errorOf("[[shards]]\nslots = []\n") == "t.toml:1: shards[0].name: is required");
  CHECK(errorOf("[[shards]]\nname = \"\"\n") == "t.toml:2: shards[0].name: must not be empty");
  CHECK(errorOf("shards = []\n") == "t.toml:1: shards: must hold at least one shard");
  CHECK(errorOf("[shards]\nname = \"s0\"\n") ==
        "t.toml:1: shards: must be an array of tables ([[shards]]), not a table");
  CHECK(errorOf(kShards + "[[shards]]\nname = \"s2\"\nslots = []\n", {"s0", "s1"}) ==
        "t.toml:8: shards[2].name: shard \"s2\" has no [[nodes]]");
  CHECK(errorOf("[sharding]\nslots = 2\n[[shards]]\nname = \"a\"\n[[shards]]\nname = \"b\"\n"
                "[[shards]]\nname = \"c\"\n") ==
        "t.toml:2: sharding.slots: fewer slots than shards (2 < 3)");
  CHECK(errorOf("[sharding]\nslots = 1\n", {"s0", "s1"}) ==
        "t.toml:2: sharding.slots: fewer slots than shards (1 < 2)");
  CHECK(errorOf("workers = 1\n") ==
        "t.toml:1: shards: the map has no shards: add [[shards]] entries, or [[nodes]] naming "
        "their shard");
}

TEST_CASE("[sharding] errors name the line") {
  CHECK(errorOf("[sharding]\nslots = 1000\n", {"s0"}) ==
        "t.toml:2: sharding.slots: must be a power of two between 1 and 65536 (got 1000)");
  CHECK(errorOf("[sharding]\nslots = 0\n", {"s0"}) ==
        "t.toml:2: sharding.slots: must be a power of two between 1 and 65536 (got 0)");
  CHECK(errorOf("[sharding]\nslots = -4\n", {"s0"}) ==
        "t.toml:2: sharding.slots: must be a power of two between 1 and 65536 (got -4)");
  CHECK(errorOf("[sharding]\nslots = 131072\n", {"s0"}) ==
        "t.toml:2: sharding.slots: must be a power of two between 1 and 65536 (got 131072)");
  CHECK(errorOf("[sharding]\nslots = \"4096\"\n", {"s0"}) ==
        "t.toml:2: sharding.slots: must be an integer, not a string");
  CHECK(errorOf("\n[sharding]\ndefault_shard = \"s9\"\n" + kShards) ==
        "t.toml:3: sharding.default_shard: names no shard in the map: \"s9\"");
  CHECK(errorOf("[sharding]\ndefault_shard = \"\"\n" + kShards) ==
        "t.toml:2: sharding.default_shard: must not be empty");
  CHECK(errorOf("[sharding]\nslots = 4096\nslot = 2\n" + kShards) ==
        "t.toml:3: sharding.slot: unknown key");
  CHECK(errorOf("sharding = 5\n" + kShards) ==
        "t.toml:1: sharding: must be a table, not an integer");
}

TEST_CASE("[[tables]] errors name the line") {
  CHECK(errorOf(kShards + "[[tables]]\nname = \"users\"\nkey = \"id\"\ntype = \"float\"\n") ==
        "t.toml:10: tables[0].type: must be one of \"smallint\", \"int\", \"bigint\", "
        "\"text\", \"varchar\", \"uuid\" (got \"float\")");
  CHECK(errorOf(kShards + "[[tables]]\nname = \"users\"\ntype = \"int\"\n") ==
        "t.toml:7: tables[0].key: is required (or reference = true for a table on every shard)");
  CHECK(errorOf(kShards + "[[tables]]\nname = \"users\"\nkey = \"id\"\n") ==
        "t.toml:7: tables[0].type: is required");
  CHECK(errorOf(kShards + "[[tables]]\nkey = \"id\"\ntype = \"int\"\n") ==
        "t.toml:7: tables[0].name: is required");
  CHECK(errorOf(kShards + "[[tables]]\nname = \"my users\"\nkey = \"id\"\ntype = \"int\"\n") ==
        "t.toml:8: tables[0].name: \"my users\" is not a table name: unexpected 'u' after the "
        "name");
  CHECK(errorOf(kShards + "[[tables]]\nname = \"u\"\nkey = \"a.b\"\ntype = \"int\"\n") ==
        "t.toml:9: tables[0].key: \"a.b\" is not a column name: unexpected '.' after the "
        "identifier");
  CHECK(errorOf(kShards + "[[tables]]\nname = \"u\"\nkey = \"id\"\ntype = \"int\"\n"
                          "partition = 1\n") == "t.toml:11: tables[0].partition: unknown key");
  CHECK(errorOf(kShards + "[[tables]]\nname = \"u\"\nreference = \"yes\"\n") ==
        "t.toml:9: tables[0].reference: must be a boolean, not a string");
}

TEST_CASE("a table is either sharded or a reference table") {
  CHECK(errorOf(kShards + "[[tables]]\nname = \"countries\"\nreference = true\n"
                          "key = \"code\"\n") ==
        "t.toml:10: tables[0].key: a table cannot be both sharded and a reference table "
        "(reference = true on line 9)");
  CHECK(errorOf(kShards + "[[tables]]\nname = \"countries\"\nreference = true\n"
                          "colocate_with = \"users\"\n") ==
        "t.toml:10: tables[0].colocate_with: a table cannot be both sharded and a reference "
        "table (reference = true on line 9)");
  std::shared_ptr<const ShardMap> map =
      parsed(kShards +
             "[[tables]]\nname = \"u\"\nreference = false\nkey = \"id\"\n"
             "type = \"int\"\n");
  CHECK(map->tables()[0].placement == Placement::Sharded);
}

TEST_CASE("colocate_with must name a sharded table of the same key type") {
  const std::string users = kShards +
                            "[[tables]]\nname = \"users\"\nkey = \"id\"\n"
                            "type = \"bigint\"\n";  // lines 7-10
  CHECK(errorOf(users + "[[tables]]\nname = \"orders\"\nkey = \"user_id\"\ntype = \"bigint\"\n"
                        "colocate_with = \"userz\"\n") ==
        "t.toml:15: tables[1].colocate_with: names no table in the map: public.userz");
  CHECK(errorOf(users + "[[tables]]\nname = \"orders\"\nkey = \"user_id\"\ntype = \"int\"\n"
                        "colocate_with = \"Users\"\n") ==
        "t.toml:15: tables[1].colocate_with: public.users has key type bigint, this table int: "
        "colocated tables need the same type");
  CHECK(errorOf(users + "[[tables]]\nname = \"c\"\nreference = true\n[[tables]]\n"
                        "name = \"orders\"\nkey = \"user_id\"\ntype = \"bigint\"\n"
                        "colocate_with = \"c\"\n") ==
        "t.toml:18: tables[2].colocate_with: public.c is a reference table, not a sharded one");
  CHECK(errorOf(users + "[[tables]]\nname = \"public.users\"\nreference = true\n") ==
        "t.toml:12: tables[1].name: duplicate table public.users (first defined on line 8)");
  // Colocation across schemas, named in any order.
  std::shared_ptr<const ShardMap> map =
      parsed(kShards +
             "[[tables]]\nname = \"app.orders\"\nkey = \"uid\"\ntype = \"text\"\n"
             "colocate_with = \"app.users\"\n[[tables]]\nname = \"app.users\"\n"
             "key = \"uid\"\ntype = \"text\"\n");
  CHECK(map->findTable("app", "orders")->colocationGroup ==
        map->findTable("app", "users")->colocationGroup);
}

TEST_CASE("TOML syntax errors give line and column") {
  CHECK(errorOf("[[shards]\n").starts_with("t.toml:1:"));
  CHECK(errorOf("[sharding]\nslots = \n") ==
        "t.toml:2:9: Error while parsing key-value pair: expected value, saw '\\n'");
}

TEST_CASE("the version follows the content") {
  uint64_t version = parsed(kSharding)->version();
  CHECK(parsed("# a comment changes nothing\n" + kSharding)->version() == version);
  std::string moved = kSharding;
  moved.replace(moved.find("0-2047"), 6, "0-2046");
  moved.replace(moved.find("2048-4095"), 9, "2047-4095");
  CHECK(parsed(moved)->version() != version);
}

TEST_CASE("loadShardMap reads the file or says why it cannot") {
  CHECK(loadShardMap("/nonexistent/shardline.toml", {}).error ==
        "/nonexistent/shardline.toml: cannot read: No such file or directory");
  CHECK(loadShardMap("/", {}).error == "/: cannot read: Is a directory");

  std::filesystem::path path = std::filesystem::temp_directory_path() / "shardmap_store_test.toml";
  std::ofstream(path) << kRouterSections << kSharding;
  MapLoadResult result = loadShardMap(path.string(), {"s0", "s1"});
  std::filesystem::remove(path);
  REQUIRE_MESSAGE(result.map != nullptr, result.error);
  CHECK(result.map->tables().size() == 3);
}

TEST_CASE("the example config at the repository root loads, split over its nodes' shards") {
  std::filesystem::path buildDir =
      std::filesystem::canonical("/proc/self/exe").parent_path().parent_path();
  std::filesystem::path example =
      (buildDir / __FILE__).parent_path() / "../../../shardline.example.toml";
  MapLoadResult result = loadShardMap(example.string(), {"s0", "s0", "s1", "s1"});
  REQUIRE_MESSAGE(result.map != nullptr, result.error);
  REQUIRE(result.map->shards().size() == 2);
  CHECK(result.map->shard(1).slots == std::vector<SlotRange>{{2048, 4095}});
}
