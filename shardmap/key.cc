#include "shardmap/key.h"

#include <array>
#include <cassert>
#include <limits>

namespace shardline::shardmap {
namespace {

struct TypeName {
  std::string_view name;
  KeyType type;
};

constexpr std::array<TypeName, 11> kTypeNames{{
    {"smallint", KeyType::SmallInt},
    {"int", KeyType::Int},
    {"bigint", KeyType::BigInt},
    {"text", KeyType::Text},
    {"varchar", KeyType::Varchar},
    {"uuid", KeyType::Uuid},
    {"int2", KeyType::SmallInt},
    {"int4", KeyType::Int},
    {"integer", KeyType::Int},
    {"int8", KeyType::BigInt},
    {"character varying", KeyType::Varchar},
}};

// An integer key type: its range, its width on the wire, and the name Postgres' messages use.
struct IntType {
  int64_t min;
  int64_t max;
  size_t width;
  std::string_view pgName;
};

IntType intType(KeyType type) {
  switch (type) {
    case KeyType::SmallInt:
      return {std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max(), 2,
              "smallint"};
    case KeyType::Int:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 4,
              "integer"};
    default:
      return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 8,
              "bigint"};
  }
}

KeyResult keyError(KeyErrorCode code, std::string message) {
  return KeyResult::failure(KeyError{code, std::move(message)});
}

KeyResult invalidSyntax(std::string_view pgName, std::string_view text) {
  return keyError(
      KeyErrorCode::InvalidSyntax,
      "invalid input syntax for type " + std::string(pgName) + ": \"" + std::string(text) + "\"");
}

// Text form of integers.

bool isPgSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int digitValue(char c, unsigned base) {
  int value = 99;
  if (c >= '0' && c <= '9') {
    value = c - '0';
  } else if (c >= 'a' && c <= 'f') {
    value = c - 'a' + 10;
  } else if (c >= 'A' && c <= 'F') {
    value = c - 'A' + 10;
  }
  return value < static_cast<int>(base) ? value : -1;
}

// What an integer's text says, before its range is checked.
struct IntText {
  bool negative = false;
  uint64_t magnitude = 0;
  bool overflow = false;  // the magnitude does not fit in 64 bits
};

// Reads the base prefix ("0x", "0o", "0b") at `pos`, if any, and returns the base.
unsigned readBase(std::string_view text, size_t* pos) {
  if (*pos + 1 >= text.size() || text[*pos] != '0') {
    return 10;
  }
  switch (text[*pos + 1]) {
    case 'x':
    case 'X':
      *pos += 2;
      return 16;
    case 'o':
    case 'O':
      *pos += 2;
      return 8;
    case 'b':
    case 'B':
      *pos += 2;
      return 2;
    default:
      return 10;
  }
}

// Reads digits at `pos` into `out`. An underscore must stand between two digits, except that
// after a base prefix it may come first, as Postgres allows. False on a misplaced underscore
// or when there is no digit at all.
bool readDigits(std::string_view text, size_t* pos, unsigned base, IntText* out) {
  size_t first = *pos;
  while (*pos < text.size()) {
    int digit = digitValue(text[*pos], base);
    if (digit >= 0) {
      out->overflow |= out->magnitude > (std::numeric_limits<uint64_t>::max() - digit) / base;
      out->magnitude = out->magnitude * base + static_cast<unsigned>(digit);
      ++*pos;
      continue;
    }
    if (text[*pos] != '_') {
      break;
    }
    if (base == 10 && *pos == first) {
      return false;
    }
    ++*pos;
    if (*pos == text.size() || digitValue(text[*pos], base) < 0) {
      return false;
    }
  }
  return *pos > first;
}

std::optional<IntText> readIntText(std::string_view text) {
  IntText out;
  size_t pos = 0;
  while (pos < text.size() && isPgSpace(text[pos])) {
    ++pos;
  }
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    out.negative = text[pos] == '-';
    ++pos;
  }
  unsigned base = readBase(text, &pos);
  if (!readDigits(text, &pos, base, &out)) {
    return std::nullopt;
  }
  while (pos < text.size() && isPgSpace(text[pos])) {
    ++pos;
  }
  return pos == text.size() ? std::optional<IntText>(out) : std::nullopt;
}

KeyResult parseIntText(KeyType type, std::string_view text) {
  IntType limits = intType(type);
  std::optional<IntText> read = readIntText(text);
  if (!read) {
    return invalidSyntax(limits.pgName, text);
  }
  // The magnitude of min is max + 1 in two's complement.
  uint64_t limit = static_cast<uint64_t>(limits.max) + (read->negative ? 1 : 0);
  if (read->overflow || read->magnitude > limit) {
    return keyError(KeyErrorCode::OutOfRange, "value \"" + std::string(text) +
                                                  "\" is out of range for type " +
                                                  std::string(limits.pgName));
  }
  uint64_t bits = read->negative ? ~read->magnitude + 1 : read->magnitude;
  return Key::fromInt(type, static_cast<int64_t>(bits));
}

// Text form of uuids.

int hexValue(char c) {
  return digitValue(c, 16);
}

std::optional<Uuid> readUuidText(std::string_view text) {
  Uuid uuid;
  size_t pos = 0;
  bool braces = !text.empty() && text[0] == '{';
  pos += braces ? 1 : 0;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (pos + 1 >= text.size() || hexValue(text[pos]) < 0 || hexValue(text[pos + 1]) < 0) {
      return std::nullopt;
    }
    uuid[i] = static_cast<uint8_t>(hexValue(text[pos]) * 16 + hexValue(text[pos + 1]));
    pos += 2;
    // A hyphen may follow each group of four digits but the last.
    if (pos < text.size() && text[pos] == '-' && i % 2 == 1 && i + 1 < uuid.size()) {
      ++pos;
    }
  }
  if (braces && (pos == text.size() || text[pos++] != '}')) {
    return std::nullopt;
  }
  return pos == text.size() ? std::optional<Uuid>(uuid) : std::nullopt;
}

// Binary forms.

KeyResult wrongLength(std::string_view pgName, size_t want, size_t got) {
  return keyError(KeyErrorCode::InvalidBinary,
                  "incorrect binary data format: a " + std::string(pgName) + " needs " +
                      std::to_string(want) + " bytes, got " + std::to_string(got));
}

// A parameter's binary width is that of the type the statement declared or Postgres inferred
// for it, which need not be the key column's: any integer width is read, and the value must
// then fit the key's type.
KeyResult parseIntBinary(KeyType type, std::string_view bytes) {
  IntType limits = intType(type);
  if (bytes.size() != 2 && bytes.size() != 4 && bytes.size() != 8) {
    return wrongLength(limits.pgName, limits.width, bytes.size());
  }
  uint64_t bits = 0;
  for (char byte : bytes) {
    bits = (bits << 8) | static_cast<uint8_t>(byte);
  }
  // Sign-extend from the type's width.
  size_t unused = 64 - 8 * bytes.size();
  auto value = static_cast<int64_t>(bits << unused) >> unused;
  if (value < limits.min || value > limits.max) {
    return keyError(KeyErrorCode::OutOfRange, std::string(limits.pgName) + " out of range");
  }
  return Key::fromInt(type, value);
}

KeyResult parseUuidBinary(std::string_view bytes) {
  Uuid uuid;
  if (bytes.size() != uuid.size()) {
    return wrongLength("uuid", uuid.size(), bytes.size());
  }
  for (size_t i = 0; i < uuid.size(); ++i) {
    uuid[i] = static_cast<uint8_t>(bytes[i]);
  }
  return Key::fromUuid(uuid);
}

std::string uuidString(const Uuid& uuid) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += kHex[uuid[i] >> 4];
    out += kHex[uuid[i] & 0xF];
  }
  return out;
}

}  // namespace

KeyFamily keyFamily(KeyType type) {
  switch (type) {
    case KeyType::SmallInt:
    case KeyType::Int:
    case KeyType::BigInt:
      return KeyFamily::Integer;
    case KeyType::Text:
    case KeyType::Varchar:
      return KeyFamily::Text;
    case KeyType::Uuid:
      break;
  }
  return KeyFamily::Uuid;
}

std::string_view keyTypeName(KeyType type) {
  for (const TypeName& entry : kTypeNames) {
    if (entry.type == type) {
      return entry.name;  // the config name comes first in kTypeNames
    }
  }
  return "";
}

std::optional<KeyType> parseKeyType(std::string_view name) {
  for (const TypeName& entry : kTypeNames) {
    bool same = entry.name.size() == name.size();
    for (size_t i = 0; same && i < name.size(); ++i) {
      char c = name[i];
      same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == entry.name[i];
    }
    if (same) {
      return entry.type;
    }
  }
  return std::nullopt;
}

std::string_view sqlState(KeyErrorCode code) {
  switch (code) {
    case KeyErrorCode::InvalidSyntax:
      return "22P02";
    case KeyErrorCode::OutOfRange:
      return "22003";
    case KeyErrorCode::InvalidBinary:
      break;
  }
  return "22P03";
}

Key Key::fromInt(KeyType type, int64_t value) {
  assert(keyFamily(type) == KeyFamily::Integer);
  assert(value >= intType(type).min && value <= intType(type).max);
  return Key(type, value);
}

Key Key::fromText(KeyType type, std::string_view bytes) {
  assert(keyFamily(type) == KeyFamily::Text);
  return Key(type, std::string(bytes));
}

Key Key::fromUuid(const Uuid& bytes) {
  return Key(KeyType::Uuid, bytes);
}

std::string Key::canonicalBytes() const {
  switch (family()) {
    case KeyFamily::Integer: {
      std::array<uint8_t, 8> bytes = intBytes(intValue());
      return std::string(bytes.begin(), bytes.end());
    }
    case KeyFamily::Text:
      return textValue();
    case KeyFamily::Uuid:
      break;
  }
  return std::string(uuidValue().begin(), uuidValue().end());
}

uint64_t Key::hash() const {
  switch (family()) {
    case KeyFamily::Integer:
      return hashInt(intValue());
    case KeyFamily::Text:
      return hashText(textValue());
    case KeyFamily::Uuid:
      break;
  }
  return hashUuid(uuidValue());
}

std::string Key::toString() const {
  switch (family()) {
    case KeyFamily::Integer:
      return std::to_string(intValue());
    case KeyFamily::Text:
      return textValue();
    case KeyFamily::Uuid:
      break;
  }
  return uuidString(uuidValue());
}

bool Key::operator==(const Key& other) const {
  return family() == other.family() && value_ == other.value_;
}

KeyResult parseKeyText(KeyType type, std::string_view text) {
  switch (keyFamily(type)) {
    case KeyFamily::Integer:
      return parseIntText(type, text);
    case KeyFamily::Text:
      return Key::fromText(type, text);
    case KeyFamily::Uuid:
      break;
  }
  std::optional<Uuid> uuid = readUuidText(text);
  if (!uuid) {
    return invalidSyntax("uuid", text);
  }
  return Key::fromUuid(*uuid);
}

KeyResult parseKeyBinary(KeyType type, std::string_view bytes) {
  switch (keyFamily(type)) {
    case KeyFamily::Integer:
      return parseIntBinary(type, bytes);
    case KeyFamily::Text:
      return Key::fromText(type, bytes);
    case KeyFamily::Uuid:
      break;
  }
  return parseUuidBinary(bytes);
}

}  // namespace shardline::shardmap
