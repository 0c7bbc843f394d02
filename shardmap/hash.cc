#include "shardmap/hash.h"

#include <xxhash.h>

#include <cstring>

namespace shardline::shardmap {

uint64_t hashInt(int64_t key) {
  unsigned char bytes[8];
  auto value = static_cast<uint64_t>(key);
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(value >> (8 * i));
  }
  return XXH3_64bits(bytes, sizeof bytes);
}

uint64_t hashText(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace shardline::shardmap
