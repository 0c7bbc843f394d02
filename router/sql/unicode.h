// Unicode and escape decoding for the lexer's string literals: UTF-8 encoding and checking,
// UTF-16 surrogates, hex digits, and the escapes of U&'...' literals, all as Postgres reads
// them.
//
// Pure functions; any thread may call them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardline::sql::unicode {

bool isHexDigit(char c);
// Requires: isHexDigit(c).
int hexValue(char c);
void appendUtf8(std::string& out, uint32_t cp);
// True when `s` is well-formed UTF-8 without a zero byte, which is what Postgres requires
// of a string built from octal or hex escapes.
bool isValidUtf8(std::string_view s);
bool isHighSurrogate(uint32_t cp);
bool isLowSurrogate(uint32_t cp);
uint32_t combineSurrogates(uint32_t high, uint32_t low);
// Reads `digits` hex digits at s[at...]; false if there are fewer.
bool readHex(std::string_view s, size_t at, size_t digits, uint32_t& value);
// Decodes the escapes of a U& literal's body, `raw`, into `out`. Returns the error message,
// or nullptr; `errorAt` is then the index in `raw` that the error is about.
const char* unescape(std::string_view raw, char escape, std::string& out, size_t& errorAt);

}  // namespace shardline::sql::unicode
