#include "shardmap/hash.h"

#include <xxhash.h>

namespace shardline::shardmap {

std::array<uint8_t, 8> intBytes(int64_t key) {
  std::array<uint8_t, 8> bytes;
  auto value = static_cast<uint64_t>(key);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  }
  return bytes;
}

uint64_t hashInt(int64_t key) {
  std::array<uint8_t, 8> bytes = intBytes(key);
  return XXH3_64bits(bytes.data(), bytes.size());
}

uint64_t hashText(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

uint64_t hashUuid(const Uuid& key) {
  return XXH3_64bits(key.data(), key.size());
}

}  // namespace shardline::shardmap
