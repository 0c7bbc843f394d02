// A statement's shape: its tokens with constants replaced by '?', the key of the plan cache.
#include <xxhash.h>

#include "router/sql/lexer.h"

namespace shardline::sql {

namespace {

void appendShapeToken(const Token& token, Shape& shape) {
  std::string& out = shape.text;
  switch (token.kind) {
    case TokenKind::String:
    case TokenKind::BitString:
    case TokenKind::Integer:
    case TokenKind::Numeric:
      out.push_back('?');
      shape.constants.push_back(token);
      return;
    case TokenKind::QuotedIdentifier:
      out.push_back('"');
      for (char c : token.view()) {
        out.append(c == '"' ? 2 : 1, c);
      }
      out.push_back('"');
      return;
    case TokenKind::Param:
      out.push_back('$');
      out.append(token.view());
      return;
    case TokenKind::Operator:
      out.append(token.view() == "?" ? std::string_view("operator(?)") : token.view());
      return;
    default:
      out.append(token.view());
      return;
  }
}

}  // namespace

Shape normalize(const LexResult& lexed) {
  Shape shape;
  size_t count = lexed.tokens.size();
  while (count > 0 && isPunct(lexed.tokens[count - 1], ";")) {
    --count;
  }
  size_t bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    bytes += lexed.tokens[i].text.size() + 1;
  }
  shape.text.reserve(bytes + 16);

  for (size_t i = 0; i < count; ++i) {
    if (i > 0) {
      shape.text.push_back(' ');
    }
    appendShapeToken(lexed.tokens[i], shape);
  }
  shape.hash = XXH3_64bits(shape.text.data(), shape.text.size());
  return shape;
}

}  // namespace shardline::sql
