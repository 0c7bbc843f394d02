// Key hashing for the shard map: xxh3_64 over a key's canonical bytes.
//
// Pure functions; any thread may call them.
#pragma once

#include <cstdint>
#include <string_view>

namespace shardline::shardmap {

// Hash of an integer key of any width: xxh3_64 over its 8-byte little-endian int64 form.
uint64_t hashInt(int64_t key);
// Hash of a text key: xxh3_64 over its UTF-8 bytes.
uint64_t hashText(std::string_view key);

}  // namespace shardline::shardmap
