// Key hashing for the shard map: xxh3_64 over a key's canonical bytes.
//
// The canonical bytes are fixed by the product and pinned by golden vectors
// (tests/unit/shardmap/golden_test.cc): changing them moves every row.
//
// Pure functions; any thread may call them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shardline::shardmap {

// A uuid's 16 bytes, in the order Postgres stores and sends them.
using Uuid = std::array<uint8_t, 16>;

// Hash of an integer key of any width: xxh3_64 over its 8-byte little-endian int64 form.
uint64_t hashInt(int64_t key);
// Hash of a text key: xxh3_64 over its UTF-8 bytes.
uint64_t hashText(std::string_view key);
// Hash of a uuid key: xxh3_64 over its 16 bytes.
uint64_t hashUuid(const Uuid& key);

// The 8 bytes an integer key hashes: its little-endian int64 form.
std::array<uint8_t, 8> intBytes(int64_t key);

}  // namespace shardline::shardmap
