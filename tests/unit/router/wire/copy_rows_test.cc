#include "router/wire/copy_rows.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using shardline::wire::CopyDataFormat;
using shardline::wire::CopyLayout;
using shardline::wire::CopyRow;
using shardline::wire::CopyRowReader;

namespace {

struct Seen {
  CopyRow::Kind kind;
  std::string bytes;
  std::optional<std::string> key;
  bool malformed;
};

// Feeds `data` in chunks of `chunk` bytes and collects every row, the last one by finish().
std::vector<Seen> readAll(const CopyLayout& layout, const std::string& data, size_t chunk) {
  CopyRowReader reader(layout);
  std::vector<Seen> out;
  CopyRow row;
  for (size_t at = 0; at < data.size(); at += chunk) {
    reader.feed(std::string_view(data).substr(at, chunk));
    while (reader.next(row)) {
      out.push_back({row.kind, std::string(row.bytes), row.key, row.malformed});
    }
  }
  if (reader.finish(row)) {
    out.push_back({row.kind, std::string(row.bytes), row.key, row.malformed});
  }
  return out;
}

std::vector<std::optional<std::string>> keysOf(const std::vector<Seen>& rows) {
  std::vector<std::optional<std::string>> out;
  for (const Seen& row : rows) {
    if (row.kind == CopyRow::Kind::Data) {
      out.push_back(row.key);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("text rows split at newlines whatever the chunks, with escapes and NULL") {
  CopyLayout layout;
  layout.keyField = 1;
  std::string data = "a\t1\n\\tb\t2\\n\r\nc\t\\N\nd\t4";
  for (size_t chunk : {1, 2, 5, 100}) {
    auto rows = readAll(layout, data, chunk);
    REQUIRE(rows.size() == 4);
    CHECK(keysOf(rows) == std::vector<std::optional<std::string>>{"1", "2\n", std::nullopt, "4"});
    CHECK(rows[1].bytes == "\\tb\t2\\n\r\n");  // forwarded as sent
    CHECK(rows[3].bytes == "d\t4");            // the last line, without its newline
  }
}

TEST_CASE("text: an escaped delimiter is data, a missing field is malformed, \\. ends") {
  CopyLayout layout;
  layout.keyField = 1;
  auto rows = readAll(layout, "a\\\tb\t7\nonly\n\\.\nignored\t9\n", 3);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].key == "7");
  CHECK(rows[1].malformed);
  CHECK(rows[2].kind == CopyRow::Kind::Trailer);
}

TEST_CASE("text: octal and hex escapes, and a header line") {
  CopyLayout layout;
  layout.header = true;
  auto rows = readAll(layout, "user_id\tname\n\\061\\x32\tx\n", 4);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].kind == CopyRow::Kind::Header);
  CHECK(rows[1].key == "12");
}

TEST_CASE("CSV: quotes keep delimiters and newlines in a field; empty unquoted is NULL") {
  CopyLayout layout;
  layout.format = CopyDataFormat::Csv;
  layout.delimiter = ',';
  layout.null = "";
  layout.header = true;
  layout.keyField = 1;
  std::string data = "name,id\n\"a,\nb\",\"4\"\"2\"\nc,\"\"\nd,\n\"e\",5\n";
  for (size_t chunk : {1, 3, 64}) {
    auto rows = readAll(layout, data, chunk);
    REQUIRE(rows.size() == 5);
    CHECK(rows[0].kind == CopyRow::Kind::Header);
    CHECK(keysOf(rows) == std::vector<std::optional<std::string>>{"4\"2", "", std::nullopt, "5"});
    CHECK(rows[1].bytes == "\"a,\nb\",\"4\"\"2\"\n");
  }
}

TEST_CASE("CSV with another escape character") {
  CopyLayout layout;
  layout.format = CopyDataFormat::Csv;
  layout.delimiter = ';';
  layout.null = "";
  layout.escape = '\\';
  layout.keyField = 0;
  auto rows = readAll(layout, "\"a\\\"b;c\";1\n", 2);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].key == "a\"b;c");
}

TEST_CASE("binary: header, tuples and trailer, however the bytes arrive") {
  CopyLayout layout;
  layout.format = CopyDataFormat::Binary;
  layout.keyField = 0;
  std::string data("PGCOPY\n\377\r\n\0", 11);
  data += std::string("\0\0\0\0\0\0\0\0", 8);  // flags, no extension
  auto tuple = [](std::string key, std::string name) {
    std::string out("\0\2", 2);
    out += std::string("\0\0\0", 3) + char(key.size()) + key;
    out += std::string("\0\0\0", 3) + char(name.size()) + name;
    return out;
  };
  data += tuple(std::string("\0\0\0\0\0\0\0\x2a", 8), "x");
  data += std::string("\0\2\xff\xff\xff\xff\0\0\0\0", 10);  // NULL key, empty name
  data += std::string("\xff\xff", 2);
  for (size_t chunk : {1, 7, 1000}) {
    auto rows = readAll(layout, data, chunk);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0].kind == CopyRow::Kind::Header);
    CHECK(rows[0].bytes.size() == 19);
    CHECK(rows[1].key == std::string("\0\0\0\0\0\0\0\x2a", 8));
    CHECK(rows[2].key == std::nullopt);
    CHECK(rows[3].kind == CopyRow::Kind::Trailer);
  }
}

TEST_CASE("binary: a truncated tuple stays pending") {
  CopyLayout layout;
  layout.format = CopyDataFormat::Binary;
  CopyRowReader reader(layout);
  std::string data("PGCOPY\n\377\r\n\0", 11);
  data += std::string(8, '\0');
  data += std::string("\0\1\0\0\0\x08\0\0", 8);
  reader.feed(data);
  CopyRow row;
  CHECK(reader.next(row));
  CHECK(row.kind == CopyRow::Kind::Header);
  CHECK_FALSE(reader.next(row));
  CHECK_FALSE(reader.finish(row));
  CHECK(reader.pending() == 8);
}
