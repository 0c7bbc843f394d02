// The character classes of Postgres' SQL scanner, as a table of bits by byte, for the
// lexer (lexer.cc).
//
// Constants and pure functions; any thread may use them.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace shardline::sql::chars {

// Character classes of Postgres' scanner, one bit each.
enum : uint8_t {
  kSpace = 1 << 0,             // space, \t, \n, \r, \f
  kIdentStart = 1 << 1,        // A-Z a-z _ and every byte >= 0x80
  kIdentCont = 1 << 2,         // ident start, 0-9, $
  kDollarTag = 1 << 3,         // ident cont without $: what may follow a dollar quote's first byte
  kDigit = 1 << 4,             // 0-9
  kHexDigit = 1 << 5,          // 0-9 A-F a-f
  kOpChar = 1 << 6,            // + - * / < > = ~ ! @ # % ^ & | ` ?
  kNotOnlyPlusMinus = 1 << 7,  // ~ ! @ # % ^ & | ` ?: lets an operator end in + or -
};

constexpr std::array<uint8_t, 256> makeClasses() {
  std::array<uint8_t, 256> classes{};
  auto add = [&classes](std::string_view chars, uint8_t bits) {
    for (char c : chars) {
      classes[static_cast<unsigned char>(c)] |= bits;
    }
  };
  add(" \t\n\r\f", kSpace);
  for (int c = 0; c < 256; ++c) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    if (letter) {
      classes[c] |= kIdentStart | kIdentCont | kDollarTag;
    }
  }
  add("0123456789", kDigit | kHexDigit | kIdentCont | kDollarTag);
  add("abcdefABCDEF", kHexDigit);
  add("$", kIdentCont);
  add("+-*/<>=~!@#%^&|`?", kOpChar);
  add("~!@#%^&|`?", kNotOnlyPlusMinus);
  return classes;
}

inline constexpr std::array<uint8_t, 256> kClasses = makeClasses();

inline bool is(char c, uint8_t classBits) {
  return (kClasses[static_cast<unsigned char>(c)] & classBits) != 0;
}

}  // namespace shardline::sql::chars
