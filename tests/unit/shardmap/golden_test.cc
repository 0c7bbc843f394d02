// Golden vectors: the hashes and slots of fixed keys. They pin the key encoding (integers as
// 8-byte little-endian int64, text as UTF-8 bytes, uuid as its 16 bytes) and the slot rule
// (top bits of xxh3_64). A change here moves rows between shards of every existing cluster.
//
// The expected values were computed once with Python's xxhash module (python3-xxhash), e.g.
//   xxhash.xxh3_64_intdigest(struct.pack('<q', 42)),  slot = hash >> (64 - log2(slots))
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "shardmap/key.h"
#include "shardmap/map.h"

using namespace shardline::shardmap;

namespace {

struct Golden {
  KeyType type;
  std::string_view text;  // the key's Postgres text form
  uint64_t hash;
  uint32_t slot4096;
  uint32_t slot65536;
  uint32_t slot2;
};

const Golden kGolden[] = {
    {KeyType::BigInt, "0", 0xc77b3abb6f87acd9, 3191, 51067, 1},
    {KeyType::BigInt, "1", 0x2fbc593564db792e, 763, 12220, 0},
    {KeyType::BigInt, "42", 0xd5a6f8c838df27c8, 3418, 54694, 1},
    {KeyType::BigInt, "-1", 0x5111c7e47d784413, 1297, 20753, 0},
    {KeyType::BigInt, "-7", 0xcdeddd5c08597fb4, 3294, 52717, 1},
    {KeyType::BigInt, "123", 0x6a6c5e5967cd2748, 1702, 27244, 0},
    {KeyType::BigInt, "456", 0xdc3cf79f96de8c8a, 3523, 56380, 1},
    {KeyType::SmallInt, "32767", 0x55176db343b74fb0, 1361, 21783, 0},
    {KeyType::SmallInt, "-32768", 0x8eef0bde2d08aba0, 2286, 36591, 1},
    {KeyType::Int, "2147483647", 0x4f7eaf7f8d7636f2, 1271, 20350, 0},
    {KeyType::Int, "-2147483648", 0xc2647c75780a00fd, 3110, 49764, 1},
    {KeyType::BigInt, "9223372036854775807", 0xa233cf376558df46, 2595, 41523, 1},
    {KeyType::BigInt, "-9223372036854775808", 0x828f2476789a0e5f, 2088, 33423, 1},
    {KeyType::Text, "", 0x2d06800538d394c2, 720, 11526, 0},
    {KeyType::Text, "a", 0xe6c632b61e964e1f, 3692, 59078, 1},
    {KeyType::Text, "abc", 0x78af5f94892f3950, 1930, 30895, 0},
    {KeyType::Varchar, "user@example.com", 0x0277dc9aa6f80b74, 39, 631, 0},
    {KeyType::Text,
     "Gr\xc3\xbc\xc3\x9f"
     "e",
     0xb40c17e2196d97d8, 2880, 46092, 1},  // Grüße
    {KeyType::Varchar, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 0x11fec42c806050b7, 287, 4606,
     0},  // 日本語
    {KeyType::Uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 0x55df69482c6d3767, 1373, 21983, 0},
    {KeyType::Uuid, "00000000-0000-0000-0000-000000000000", 0xd0a66a65c7528968, 3338, 53414, 1},
    {KeyType::Uuid, "ffffffff-ffff-ffff-ffff-ffffffffffff", 0x722a202f07a4b313, 1826, 29226, 0},
};

ShardMap oneShardMap(uint32_t slotCount) {
  MapSpec spec;
  spec.slotCount = slotCount;
  spec.shards = {Shard{"s0", {SlotRange{0, slotCount - 1}}}};
  return ShardMap::build(spec).value();
}

}  // namespace

TEST_CASE("golden vectors: hashes and slots of fixed keys") {
  ShardMap map1 = oneShardMap(1);
  ShardMap map2 = oneShardMap(2);
  ShardMap map4096 = oneShardMap(4096);
  ShardMap map65536 = oneShardMap(65536);
  for (const Golden& golden : kGolden) {
    CAPTURE(golden.text);
    KeyResult key = parseKeyText(golden.type, golden.text);
    REQUIRE(key.ok());
    CHECK(key->hash() == golden.hash);
    CHECK(map4096.slotForKey(*key) == golden.slot4096);
    CHECK(map65536.slotForKey(*key) == golden.slot65536);
    CHECK(map2.slotForKey(*key) == golden.slot2);
    CHECK(map1.slotForKey(*key) == 0);
  }
}

TEST_CASE("golden vectors: the hash functions agree with the keys") {
  CHECK(hashInt(42) == 0xd5a6f8c838df27c8);
  CHECK(hashInt(-9223372036854775807 - 1) == 0x828f2476789a0e5f);
  CHECK(hashText("abc") == 0x78af5f94892f3950);
  Uuid ones;
  ones.fill(0xff);
  CHECK(hashUuid(ones) == 0x722a202f07a4b313);
}

TEST_CASE("golden vectors: binary parameters hash as their text forms") {
  // 42 as int2, int4 and int8 on the wire: all hash as the int64 42.
  CHECK(parseKeyBinary(KeyType::SmallInt, std::string("\x00\x2a", 2))->hash() ==
        0xd5a6f8c838df27c8);
  CHECK(parseKeyBinary(KeyType::Int, std::string("\x00\x00\x00\x2a", 4))->hash() ==
        0xd5a6f8c838df27c8);
  CHECK(
      parseKeyBinary(KeyType::BigInt, std::string("\x00\x00\x00\x00\x00\x00\x00\x2a", 8))->hash() ==
      0xd5a6f8c838df27c8);
  CHECK(parseKeyBinary(KeyType::Int, "\xff\xff\xff\xff")->hash() == 0x5111c7e47d784413);  // -1
  CHECK(parseKeyBinary(KeyType::Text, "abc")->hash() == 0x78af5f94892f3950);
  CHECK(parseKeyBinary(KeyType::Uuid, std::string(16, '\xff'))->hash() == 0x722a202f07a4b313);
}
