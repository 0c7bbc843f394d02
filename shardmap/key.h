// Shard keys: the value of a sharded table's key column, in its canonical form for hashing.
//
// A Key is read from the text form of a constant or parameter, as Postgres' input function
// for the key type would read it, or from a parameter's binary form. Integers of every width
// hash alike (their int64 value), so do text and varchar (their UTF-8 bytes); a uuid hashes
// its 16 bytes. Bad input gives a KeyError carrying the SQLSTATE Postgres would report.
//
// Keys are plain values; the functions here are pure and any thread may call them.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "shardmap/hash.h"
#include "shardmap/result.h"

namespace shardline::shardmap {

enum class KeyType : uint8_t { SmallInt, Int, BigInt, Text, Varchar, Uuid };

// Key types whose values hash alike: a key of one may look up a table keyed by another.
enum class KeyFamily : uint8_t { Integer, Text, Uuid };

KeyFamily keyFamily(KeyType type);

// The name the config file uses: "smallint", "int", "bigint", "text", "varchar", "uuid".
std::string_view keyTypeName(KeyType type);

// A type name as the config file may write it, in any case: the names above and Postgres'
// spellings "int2", "int4", "integer", "int8", "character varying".
std::optional<KeyType> parseKeyType(std::string_view name);

enum class KeyErrorCode : uint8_t {
  InvalidSyntax,  // text form not accepted by the type's input function
  OutOfRange,     // an integer beyond the type's range
  InvalidBinary,  // binary form of the wrong length
};

// The SQLSTATE Postgres reports for the same input: 22P02, 22003 or 22P03.
std::string_view sqlState(KeyErrorCode code);

struct KeyError {
  KeyErrorCode code;
  std::string message;  // worded as Postgres words it, e.g. `invalid input syntax for ...`
};

class Key {
 public:
  // Requires: keyFamily(type) == KeyFamily::Integer and `value` within the type's range.
  static Key fromInt(KeyType type, int64_t value);
  // Requires: keyFamily(type) == KeyFamily::Text.
  static Key fromText(KeyType type, std::string_view bytes);
  static Key fromUuid(const Uuid& bytes);

  KeyType type() const { return type_; }
  KeyFamily family() const { return keyFamily(type_); }

  // Requires: family() == KeyFamily::Integer.
  int64_t intValue() const { return *valueAs<int64_t>(); }
  // Requires: family() == KeyFamily::Text.
  const std::string& textValue() const { return *valueAs<std::string>(); }
  // Requires: family() == KeyFamily::Uuid.
  const Uuid& uuidValue() const { return *valueAs<Uuid>(); }

  // The bytes the key hashes (see hash.h).
  std::string canonicalBytes() const;
  // xxh3_64 of canonicalBytes().
  uint64_t hash() const;
  // The key as Postgres prints it: "42", "abc", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".
  std::string toString() const;

  // Same family and same value: an int 5 equals a bigint 5.
  bool operator==(const Key& other) const;

 private:
  Key(KeyType type, std::variant<int64_t, std::string, Uuid> value)
      : type_(type), value_(std::move(value)) {}

  template <typename V>
  const V* valueAs() const {
    assert(std::holds_alternative<V>(value_));
    return std::get_if<V>(&value_);
  }

  KeyType type_;
  std::variant<int64_t, std::string, Uuid> value_;
};

using KeyResult = Result<Key, KeyError>;

// A key from its text form, read as Postgres' input function for `type` reads it:
//  - integers: spaces around, an optional sign, decimal digits; also the 0x/0o/0b prefixes and
//    digit-separating underscores Postgres accepts from version 16 (a superset of 15's forms:
//    an older server refuses them itself). The value must fit the type.
//  - text, varchar: the bytes as they are.
//  - uuid: 32 hex digits in either case, optionally in braces, with a hyphen allowed after any
//    group of four digits ("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{A0EEBC999C0B...}").
KeyResult parseKeyText(KeyType type, std::string_view text);

// A key from a parameter's binary form: a 2, 4 or 8-byte big-endian integer for smallint, int
// and bigint; the bytes themselves for text and varchar; 16 bytes for uuid.
KeyResult parseKeyBinary(KeyType type, std::string_view bytes);

}  // namespace shardline::shardmap
