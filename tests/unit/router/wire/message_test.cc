#include "router/wire/message.h"

#include <doctest/doctest.h>

using namespace shardline::wire;

namespace {
void feed(FrameReader& reader, std::string_view bytes) {
  char* data = reader.writable(bytes.size());
  std::memcpy(data, bytes.data(), bytes.size());
  reader.commit(bytes.size());
}
}  // namespace

TEST_CASE("a message split across reads comes out whole once complete") {
  std::string query;
  MessageWriter(query).begin('Q').cstring("SELECT 1").end();
  REQUIRE(query.size() == 14);  // type, length 13, 8 characters and a NUL

  FrameReader reader(1024);
  Frame frame;
  feed(reader, std::string_view(query).substr(0, 3));
  CHECK(reader.next(frame) == FrameStatus::NeedMore);
  feed(reader, std::string_view(query).substr(3));
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  CHECK(frame.type == 'Q');
  CHECK(frame.body == std::string_view("SELECT 1\0", 9));
  CHECK(frame.bytes == query);
  CHECK(reader.next(frame) == FrameStatus::NeedMore);
}

TEST_CASE("a message larger than the buffer grows it, keeping the bytes not yet taken") {
  std::string first;
  MessageWriter(first).begin('Q').cstring("SELECT 1").end();
  std::string big;
  MessageWriter(big).begin('d').raw(std::string(10000, 'x')).end();
  std::string both = first + big;

  FrameReader reader(1 << 20);
  Frame frame;
  feed(reader, std::string_view(both).substr(0, 100));
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  CHECK(frame.bytes == first);
  CHECK(reader.next(frame) == FrameStatus::NeedMore);
  CHECK(reader.writableSize() >= both.size() - 100);  // room for the rest of the message
  for (size_t at = 100; at < both.size(); at += 3000) {
    feed(reader, std::string_view(both).substr(at, 3000));
  }
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  CHECK(frame.bytes == big);
  CHECK(reader.empty());
}

TEST_CASE("an empty reader gives its buffer back and reads again after") {
  FrameReader reader(1024);
  std::string query;
  MessageWriter(query).begin('Q').cstring("SELECT 1").end();
  feed(reader, std::string_view(query).substr(0, 5));
  reader.releaseIfEmpty();
  CHECK(reader.buffered() == 5);  // not empty: kept
  feed(reader, std::string_view(query).substr(5));
  Frame frame;
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  reader.releaseIfEmpty();
  CHECK(reader.writableSize() == 0);
  feed(reader, query);
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  CHECK(frame.bytes == query);
}

TEST_CASE("a reader that gave its buffer back reads the next message whole") {
  std::string first;
  std::string second;
  MessageWriter(first).begin('Q').cstring("SELECT 1").end();
  MessageWriter(second).begin('Q').cstring("SELECT 22").end();
  FrameReader reader(1024);
  FrameReader other(1024);
  Frame frame;
  feed(reader, first);
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  reader.releaseIfEmpty();
  CHECK(reader.writableSize() == 0);

  // Another reader on this thread may take the buffer given back; each keeps its own bytes.
  feed(other, std::string_view(second).substr(0, 4));
  feed(reader, second);
  feed(other, std::string_view(second).substr(4));
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  CHECK(frame.bytes == second);
  REQUIRE(other.next(frame) == FrameStatus::Ready);
  CHECK(frame.bytes == second);
}

TEST_CASE("impossible or oversized lengths make the stream bad") {
  FrameReader reader(100);
  Frame frame;
  feed(reader, std::string_view("Q\0\0\0\3", 5));  // length below 4
  CHECK(reader.next(frame) == FrameStatus::Bad);

  FrameReader small(100);
  feed(small, std::string_view("Q\0\0\1\0", 5));  // 256 bytes, over the limit of 100
  CHECK(small.next(frame) == FrameStatus::Bad);
}

TEST_CASE("startup packets are bounded like Postgres bounds them") {
  FrameReader reader(1024);
  std::string_view body;
  feed(reader, std::string_view("\0\0\0\4", 4));
  CHECK(reader.nextStartup(body) == FrameStatus::Bad);

  FrameReader ssl(1024);
  std::string request;
  MessageWriter(request).begin(0).int32(int32_t(kSslRequestCode)).end();
  feed(ssl, request);
  REQUIRE(ssl.nextStartup(body) == FrameStatus::Ready);
  FieldReader fields(body);
  int32_t code = 0;
  REQUIRE(fields.int32(code));
  CHECK(uint32_t(code) == 80877103u);
}

TEST_CASE("ErrorResponse fields round-trip") {
  std::string out;
  appendError(out, "42P05", "prepared statement \"a\" already exists");
  FrameReader reader(1024);
  feed(reader, out);
  Frame frame;
  REQUIRE(reader.next(frame) == FrameStatus::Ready);
  CHECK(frame.type == 'E');
  ErrorFields fields = parseError(frame.body);
  CHECK(fields.severity == "ERROR");
  CHECK(fields.sqlstate == "42P05");
  CHECK(fields.message == "prepared statement \"a\" already exists");
}

TEST_CASE("field reader fails softly on short input") {
  FieldReader r(std::string_view("ab", 2));
  int32_t value = 0;
  std::string_view text;
  CHECK_FALSE(r.int32(value));
  CHECK_FALSE(r.cstring(text));
  int16_t shortValue = 0;
  CHECK(r.int16(shortValue));
  CHECK(shortValue == 0x6162);
}
