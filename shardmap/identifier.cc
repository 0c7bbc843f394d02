#include "shardmap/identifier.h"

#include <cstdio>

namespace shardline::shardmap {
namespace {

bool isAsciiLetter(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isAsciiDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool isNonAscii(unsigned char c) {
  return c >= 0x80;
}

// The characters Postgres' scanner lets begin and continue an unquoted identifier.
bool isIdentifierStart(unsigned char c) {
  return isAsciiLetter(c) || c == '_' || isNonAscii(c);
}
bool isIdentifierChar(unsigned char c) {
  return isIdentifierStart(c) || isAsciiDigit(c) || c == '$';
}

bool isSqlSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string describeChar(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    return std::string("'") + c + "'";
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", byte);
  return std::string("byte ") + hex;
}

// Reads identifiers and dots left to right; pos_ is the next byte to read.
class NameScanner {
 public:
  explicit NameScanner(std::string_view text) : text_(text) {}

  bool atEnd() const { return pos_ == text_.size(); }
  char peek() const { return text_[pos_]; }

  void skipSpaces() {
    while (!atEnd() && isSqlSpace(peek())) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (atEnd() || peek() != c) {
      return false;
    }
    ++pos_;
    return true;
  }

  Result<std::string> identifier() {
    if (atEnd()) {
      return Result<std::string>::failure("expected an identifier");
    }
    return peek() == '"' ? quoted() : unquoted();
  }

 private:
  Result<std::string> quoted() {
    std::string out;
    ++pos_;  // the opening quote
    while (!atEnd()) {
      char c = text_[pos_++];
      if (c != '"') {
        out += c;
      } else if (consume('"')) {
        out += '"';  // "" stands for one quote
      } else if (out.empty()) {
        return Result<std::string>::failure("zero-length quoted identifier");
      } else {
        return std::string(truncateIdentifier(out));
      }
    }
    return Result<std::string>::failure("unterminated quoted identifier");
  }

  Result<std::string> unquoted() {
    if (!isIdentifierStart(peek())) {
      return Result<std::string>::failure("unexpected " + describeChar(peek()) +
                                          " where an identifier should begin");
    }
    size_t start = pos_;
    while (!atEnd() && isIdentifierChar(peek())) {
      ++pos_;
    }
    std::string folded = foldIdentifier(text_.substr(start, pos_ - start));
    return std::string(truncateIdentifier(folded));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Result<std::string> unexpectedAfter(const NameScanner& scanner, std::string_view what) {
  return Result<std::string>::failure("unexpected " + describeChar(scanner.peek()) + " after " +
                                      std::string(what));
}

}  // namespace

std::string QualifiedName::toString() const {
  return quoteIdentifier(schema) + "." + quoteIdentifier(name);
}

std::string foldIdentifier(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string_view truncateIdentifier(std::string_view text) {
  if (text.size() <= kMaxIdentifierBytes) {
    return text;
  }
  // Back off while the first byte cut away continues a character begun before the cut.
  size_t cut = kMaxIdentifierBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return text.substr(0, cut);
}

std::string quoteIdentifier(std::string_view name) {
  bool bare = !name.empty() && isIdentifierStart(name[0]) && !(name[0] >= 'A' && name[0] <= 'Z');
  for (size_t i = 1; bare && i < name.size(); ++i) {
    bare = isIdentifierChar(name[i]) && !(name[i] >= 'A' && name[i] <= 'Z');
  }
  if (bare) {
    return std::string(name);
  }
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

Result<std::string> parseIdentifier(std::string_view text) {
  NameScanner scanner(text);
  scanner.skipSpaces();
  Result<std::string> name = scanner.identifier();
  scanner.skipSpaces();
  if (name && !scanner.atEnd()) {
    return unexpectedAfter(scanner, "the identifier");
  }
  return name;
}

Result<QualifiedName> parseQualifiedName(std::string_view text, std::string_view defaultSchema) {
  using NameResult = Result<QualifiedName>;
  NameScanner scanner(text);
  scanner.skipSpaces();
  Result<std::string> first = scanner.identifier();
  if (!first) {
    return NameResult::failure(first.error());
  }
  scanner.skipSpaces();
  if (scanner.atEnd()) {
    return QualifiedName{std::string(defaultSchema), first.value()};
  }
  if (!scanner.consume('.')) {
    return NameResult::failure(unexpectedAfter(scanner, "the name").error());
  }
  scanner.skipSpaces();
  Result<std::string> second = scanner.identifier();
  if (!second) {
    return NameResult::failure(second.error() + " after '.'");
  }
  scanner.skipSpaces();
  if (!scanner.atEnd() && scanner.peek() == '.') {
    return NameResult::failure("too many parts: expected name or schema.name");
  }
  if (!scanner.atEnd()) {
    return NameResult::failure(unexpectedAfter(scanner, "schema.name").error());
  }
  return QualifiedName{first.value(), second.value()};
}

}  // namespace shardline::shardmap
