#include "shardmap/key.h"

#include <string>

#include <doctest/doctest.h>

using namespace shardline::shardmap;

namespace {

std::optional<int64_t> intOf(KeyType type, std::string_view text) {
  KeyResult key = parseKeyText(type, text);
  return key.ok() ? std::optional<int64_t>(key->intValue()) : std::nullopt;
}

KeyError errorOf(KeyType type, std::string_view text) {
  KeyResult key = parseKeyText(type, text);
  REQUIRE_FALSE(key.ok());
  return key.error();
}

std::optional<std::string> uuidOf(std::string_view text) {
  KeyResult key = parseKeyText(KeyType::Uuid, text);
  return key.ok() ? std::optional<std::string>(key->toString()) : std::nullopt;
}

constexpr std::string_view kUuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";

}  // namespace

TEST_CASE("key type names") {
  CHECK(parseKeyType("bigint") == KeyType::BigInt);
  CHECK(parseKeyType("BIGINT") == KeyType::BigInt);
  CHECK(parseKeyType("int8") == KeyType::BigInt);
  CHECK(parseKeyType("integer") == KeyType::Int);
  CHECK(parseKeyType("int4") == KeyType::Int);
  CHECK(parseKeyType("int") == KeyType::Int);
  CHECK(parseKeyType("int2") == KeyType::SmallInt);
  CHECK(parseKeyType("smallint") == KeyType::SmallInt);
  CHECK(parseKeyType("text") == KeyType::Text);
  CHECK(parseKeyType("varchar") == KeyType::Varchar);
  CHECK(parseKeyType("Character Varying") == KeyType::Varchar);
  CHECK(parseKeyType("uuid") == KeyType::Uuid);
  CHECK_FALSE(parseKeyType("float"));
  CHECK_FALSE(parseKeyType(""));
  CHECK_FALSE(parseKeyType("bigint "));
  CHECK(keyTypeName(KeyType::Int) == "int");
  CHECK(keyTypeName(KeyType::Varchar) == "varchar");
  CHECK(keyFamily(KeyType::SmallInt) == KeyFamily::Integer);
  CHECK(keyFamily(KeyType::Varchar) == KeyFamily::Text);
  CHECK(keyFamily(KeyType::Uuid) == KeyFamily::Uuid);
}

TEST_CASE("integers in text form follow Postgres' integer input") {
  CHECK(intOf(KeyType::BigInt, "42") == 42);
  CHECK(intOf(KeyType::BigInt, "-7") == -7);
  CHECK(intOf(KeyType::BigInt, "+7") == 7);
  CHECK(intOf(KeyType::BigInt, "  42") == 42);
  CHECK(intOf(KeyType::BigInt, "42  ") == 42);
  CHECK(intOf(KeyType::BigInt, " \t\n\r\v\f-42 \t\n\r\v\f") == -42);
  CHECK(intOf(KeyType::BigInt, "007") == 7);
  CHECK(intOf(KeyType::BigInt, "-0") == 0);

  for (std::string_view bad : {"", " ", "-", "+", "4 2", "42a", "a42", "4.2", "1e3", "--1", "+-1",
                               "- 1", "0x", "0xg", "٤٢"}) {
    CAPTURE(bad);
    CHECK(errorOf(KeyType::BigInt, bad).code == KeyErrorCode::InvalidSyntax);
  }
  CHECK(errorOf(KeyType::BigInt, std::string("42\0", 3)).code == KeyErrorCode::InvalidSyntax);
}

TEST_CASE("integers also take the prefixes and underscores of Postgres 16") {
  CHECK(intOf(KeyType::BigInt, "0x2A") == 42);
  CHECK(intOf(KeyType::BigInt, "-0x2a") == -42);
  CHECK(intOf(KeyType::BigInt, "0o52") == 42);
  CHECK(intOf(KeyType::BigInt, "0B101010") == 42);
  CHECK(intOf(KeyType::BigInt, "1_000_000") == 1000000);
  CHECK(intOf(KeyType::BigInt, "0x_2a") == 42);  // after a prefix, an underscore may lead
  CHECK(intOf(KeyType::BigInt, "-0x8000000000000000") == INT64_MIN);
  for (std::string_view bad : {"_1", "1_", "1__0", "0x2a_", "0o8", "0b2", "1_a"}) {
    CAPTURE(bad);
    CHECK(errorOf(KeyType::BigInt, bad).code == KeyErrorCode::InvalidSyntax);
  }
}

TEST_CASE("integers are range-checked per type") {
  CHECK(intOf(KeyType::SmallInt, "32767") == 32767);
  CHECK(intOf(KeyType::SmallInt, "-32768") == -32768);
  CHECK(errorOf(KeyType::SmallInt, "32768").code == KeyErrorCode::OutOfRange);
  CHECK(errorOf(KeyType::SmallInt, "-32769").code == KeyErrorCode::OutOfRange);
  CHECK(intOf(KeyType::Int, "2147483647") == 2147483647);
  CHECK(intOf(KeyType::Int, "-2147483648") == -2147483648LL);
  CHECK(errorOf(KeyType::Int, "2147483648").code == KeyErrorCode::OutOfRange);
  CHECK(errorOf(KeyType::Int, "-2147483649").code == KeyErrorCode::OutOfRange);
  CHECK(intOf(KeyType::BigInt, "9223372036854775807") == INT64_MAX);
  CHECK(intOf(KeyType::BigInt, "-9223372036854775808") == INT64_MIN);
  CHECK(errorOf(KeyType::BigInt, "9223372036854775808").code == KeyErrorCode::OutOfRange);
  CHECK(errorOf(KeyType::BigInt, "-9223372036854775809").code == KeyErrorCode::OutOfRange);
  CHECK(errorOf(KeyType::BigInt, "99999999999999999999999").code == KeyErrorCode::OutOfRange);
  CHECK(errorOf(KeyType::BigInt, "0x1_0000_0000_0000_0000").code == KeyErrorCode::OutOfRange);
}

TEST_CASE("key errors are worded as Postgres words them") {
  KeyError syntax = errorOf(KeyType::Int, "abc");
  CHECK(syntax.message == "invalid input syntax for type integer: \"abc\"");
  CHECK(sqlState(syntax.code) == "22P02");
  KeyError range = errorOf(KeyType::SmallInt, " 40000 ");
  CHECK(range.message == "value \" 40000 \" is out of range for type smallint");
  CHECK(sqlState(range.code) == "22003");
  CHECK(errorOf(KeyType::BigInt, "x").message == "invalid input syntax for type bigint: \"x\"");
  CHECK(errorOf(KeyType::Uuid, "x").message == "invalid input syntax for type uuid: \"x\"");
  KeyError binary = parseKeyBinary(KeyType::BigInt, "abc").error();
  CHECK(binary.message == "incorrect binary data format: a bigint needs 8 bytes, got 3");
  CHECK(sqlState(binary.code) == "22P03");
}

TEST_CASE("an integer key takes a parameter of any integer width (int2/int4/int8)") {
  // Drivers send a bigint key as int2 or int4 when the value is small (psycopg does).
  CHECK(parseKeyBinary(KeyType::BigInt, std::string("\x00\x2a", 2))->intValue() == 42);
  CHECK(parseKeyBinary(KeyType::BigInt, "\xff\xff\xff\xfe")->intValue() == -2);
  CHECK(parseKeyBinary(KeyType::BigInt, std::string("\x00\x2a", 2))->hash() ==
        parseKeyText(KeyType::BigInt, "42")->hash());
  CHECK(sqlState(
            parseKeyBinary(KeyType::SmallInt, std::string("\x00\x01\x00\x00", 4)).error().code) ==
        "22003");
}

TEST_CASE("integers in binary form are big-endian of the type's width") {
  CHECK(parseKeyBinary(KeyType::SmallInt, std::string("\x01\x02", 2))->intValue() == 0x0102);
  CHECK(parseKeyBinary(KeyType::SmallInt, "\xff\xfe")->intValue() == -2);
  CHECK(parseKeyBinary(KeyType::SmallInt, std::string("\x80\x00", 2))->intValue() == -32768);
  CHECK(parseKeyBinary(KeyType::Int, std::string("\x00\x00\x01\x00", 4))->intValue() == 256);
  CHECK(parseKeyBinary(KeyType::Int, std::string("\x80\x00\x00\x00", 4))->intValue() ==
        -2147483648LL);
  CHECK(parseKeyBinary(KeyType::BigInt, "\x7f\xff\xff\xff\xff\xff\xff\xff")->intValue() ==
        INT64_MAX);
  CHECK(parseKeyBinary(KeyType::BigInt, "\xff\xff\xff\xff\xff\xff\xff\xfe")->intValue() == -2);
  CHECK_FALSE(parseKeyBinary(KeyType::SmallInt, "\x01").ok());
  CHECK(parseKeyBinary(KeyType::Int, std::string("\x00\x00\x00\x00\x00\x00\x00\x01", 8))
            ->intValue() == 1);
  CHECK_FALSE(
      parseKeyBinary(KeyType::Int, std::string("\x00\x00\x01\x00\x00\x00\x00\x01", 8)).ok());
  CHECK_FALSE(parseKeyBinary(KeyType::BigInt, "").ok());
  CHECK(parseKeyBinary(KeyType::Int, "").error().code == KeyErrorCode::InvalidBinary);
}

TEST_CASE("integer keys of every width are equal and hash alike") {
  Key small = parseKeyText(KeyType::SmallInt, "42").value();
  Key big = parseKeyBinary(KeyType::BigInt, std::string("\0\0\0\0\0\0\0\x2a", 8)).value();
  CHECK(small == big);
  CHECK(small.hash() == big.hash());
  CHECK(small.hash() == hashInt(42));
  CHECK(small.type() == KeyType::SmallInt);
  CHECK(small.canonicalBytes() == std::string("\x2a\0\0\0\0\0\0\0", 8));
  CHECK(Key::fromInt(KeyType::BigInt, -1).canonicalBytes() == std::string(8, '\xff'));
  CHECK(small.toString() == "42");
  CHECK_FALSE(small == Key::fromText(KeyType::Text, "42"));
}

TEST_CASE("text keys are their bytes, in text and binary form alike") {
  Key text = parseKeyText(KeyType::Text, "  Ab c ").value();
  CHECK(text.textValue() == "  Ab c ");
  CHECK(text.hash() == hashText("  Ab c "));
  Key varchar = parseKeyBinary(KeyType::Varchar, "  Ab c ").value();
  CHECK(varchar == text);
  CHECK(varchar.hash() == text.hash());
  CHECK(parseKeyText(KeyType::Text, "")->hash() == hashText(""));
  CHECK(parseKeyText(KeyType::Varchar, "\xc3\xa9")->canonicalBytes() == "\xc3\xa9");
}

TEST_CASE("uuids in every text form Postgres accepts") {
  CHECK(uuidOf(kUuid) == std::string(kUuid));
  CHECK(uuidOf("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") == std::string(kUuid));
  CHECK(uuidOf("a0eebc999c0b4ef8bb6d6bb9bd380a11") == std::string(kUuid));
  CHECK(uuidOf("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}") == std::string(kUuid));
  CHECK(uuidOf("{a0eebc999c0b4ef8bb6d6bb9bd380a11}") == std::string(kUuid));
  CHECK(uuidOf("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11") == std::string(kUuid));
  CHECK(uuidOf("a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11") == std::string(kUuid));
  CHECK(uuidOf("{A0eeBC99-9c0b-4ef8-bb6d-6bb9bd380a11}") == std::string(kUuid));
}

TEST_CASE("uuids in forms Postgres refuses") {
  for (std::string_view bad : {
           "",
           "{}",
           " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ",
           "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
           "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",   // hyphen inside a group of four
           "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",  // two hyphens
           "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",  // 31 digits
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
           "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
           "urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
       }) {
    CAPTURE(bad);
    CHECK(errorOf(KeyType::Uuid, bad).code == KeyErrorCode::InvalidSyntax);
  }
}

TEST_CASE("uuids in binary form are their 16 bytes") {
  std::string bytes("\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11", 16);
  Key key = parseKeyBinary(KeyType::Uuid, bytes).value();
  CHECK(key.toString() == kUuid);
  CHECK(key.canonicalBytes() == bytes);
  CHECK(key == parseKeyText(KeyType::Uuid, kUuid).value());
  CHECK(parseKeyBinary(KeyType::Uuid, bytes.substr(1)).error().message ==
        "incorrect binary data format: a uuid needs 16 bytes, got 15");
}
