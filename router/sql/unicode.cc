#include "router/sql/unicode.h"

namespace shardline::sql::unicode {

bool isHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  return (c | 0x20) - 'a' + 10;  // ASCII letters: bit 5 makes them lower case
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// True when `s` is well-formed UTF-8 without a zero byte, which is what Postgres requires
// of a string built from octal or hex escapes.
bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b == 0) {
      return false;
    }
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;  // continuation bytes
    if (b < 0xC2 || b > 0xF4 || i + extra >= s.size()) {
      return false;
    }
    auto b1 = static_cast<unsigned char>(s[i + 1]);
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b == 0xE0) {
      lo = 0xA0;  // no overlong forms
    } else if (b == 0xED) {
      hi = 0x9F;  // no surrogates
    } else if (b == 0xF0) {
      lo = 0x90;
    } else if (b == 0xF4) {
      hi = 0x8F;  // nothing past U+10FFFF
    }
    if (b1 < lo || b1 > hi) {
      return false;
    }
    for (size_t k = 2; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += extra + 1;
  }
  return true;
}

bool isHighSurrogate(uint32_t cp) {
  return cp >= 0xD800 && cp <= 0xDBFF;
}
bool isLowSurrogate(uint32_t cp) {
  return cp >= 0xDC00 && cp <= 0xDFFF;
}
uint32_t combineSurrogates(uint32_t high, uint32_t low) {
  return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
}

// Reads `digits` hex digits at s[at...]; false if there are fewer.
bool readHex(std::string_view s, size_t at, size_t digits, uint32_t& value) {
  if (at + digits > s.size()) {
    return false;
  }
  value = 0;
  for (size_t i = at; i < at + digits; ++i) {
    if (!isHexDigit(s[i])) {
      return false;
    }
    value = (value << 4) | static_cast<uint32_t>(hexValue(s[i]));
  }
  return true;
}

// Decodes the escapes of a U& literal's body, `raw`, into `out`. Returns the error message,
// or nullptr; `errorAt` is then the index in `raw` that the error is about.
const char* unescape(std::string_view raw, char escape, std::string& out, size_t& errorAt) {
  uint32_t high = 0;  // a high surrogate waiting for its low half
  for (size_t i = 0; i < raw.size();) {
    errorAt = i;
    bool doubled = raw[i] == escape && i + 1 < raw.size() && raw[i + 1] == escape;
    if (raw[i] != escape || doubled) {
      if (high != 0) {
        return "invalid Unicode surrogate pair";
      }
      out.push_back(raw[i]);
      i += doubled ? 2 : 1;
      continue;
    }
    uint32_t cp = 0;
    bool plus = i + 1 < raw.size() && raw[i + 1] == '+';
    if (!readHex(raw, i + (plus ? 2 : 1), plus ? 6 : 4, cp)) {
      return "invalid Unicode escape";
    }
    i += plus ? 8 : 5;
    if (high != 0) {
      if (!isLowSurrogate(cp)) {
        return "invalid Unicode surrogate pair";
      }
      cp = combineSurrogates(high, cp);
      high = 0;
    } else if (isHighSurrogate(cp)) {
      high = cp;
      continue;
    } else if (isLowSurrogate(cp)) {
      return "invalid Unicode surrogate pair";
    }
    if (cp == 0 || cp > 0x10FFFF) {
      return "invalid Unicode escape value";
    }
    appendUtf8(out, cp);
  }
  errorAt = raw.size();
  return high != 0 ? "invalid Unicode surrogate pair" : nullptr;
}

}  // namespace shardline::sql::unicode
