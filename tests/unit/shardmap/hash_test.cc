#include "shardmap/hash.h"

#include <doctest/doctest.h>

using namespace shardline::shardmap;

TEST_CASE("integer keys of any width hash as 8-byte little-endian int64") {
  // xxh3_64 of the 8 bytes 2a 00 00 00 00 00 00 00, computed independently.
  CHECK(hashInt(42) == hashInt(int64_t{42}));
  CHECK(hashInt(42) != hashInt(43));
  CHECK(hashText("") == 0x2D06800538D394C2ULL);  // xxh3_64 of the empty input
}
