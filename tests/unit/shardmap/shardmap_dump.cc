// shardmap_dump: prints where keys go under a shard map, for tests/unit/shardmap/crosscheck.py
// to compare with an independent computation.
//
//   shardmap_dump <shardline.toml>  < keys
//
// Each input line is "<type>\t<key in Postgres text form>", the key running to the end of the
// line (tabs included); each output line is
// "<type>\t<key>\t<hash as 16 hex digits>\t<slot>\t<shard name>", or
// "<type>\t<key>\terror\t<message>" for a key its type refuses.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <string>

#include "shardmap/config_store.h"

using namespace shardline::shardmap;

namespace {

std::string describe(const ShardMap& map, std::string_view typeName, std::string_view text) {
  std::optional<KeyType> type = parseKeyType(typeName);
  if (!type) {
    return "error\tunknown key type";
  }
  KeyResult key = parseKeyText(*type, text);
  if (!key) {
    return "error\t" + key.error().message;
  }
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016" PRIx64, key->hash());
  uint32_t slot = map.slotForKey(*key);
  return std::string(hash) + "\t" + std::to_string(slot) + "\t" +
         map.shard(map.shardForSlot(slot)).name;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: shardmap_dump <shardline.toml> < lines of \"type<TAB>key\"\n";
    return 2;
  }
  MapLoadResult loaded = loadShardMap(argv[1], {});
  if (loaded.map == nullptr) {
    std::cerr << loaded.error << "\n";
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      std::cerr << "shardmap_dump: line without a tab: " << line << "\n";
      return 2;
    }
    std::string_view type = std::string_view(line).substr(0, tab);
    std::string_view key = std::string_view(line).substr(tab + 1);
    std::cout << type << '\t' << key << '\t' << describe(*loaded.map, type, key) << '\n';
  }
  return 0;
}
