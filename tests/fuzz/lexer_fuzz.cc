// libFuzzer target: the SQL lexer, statement splitter, normalizer and the
// session layer's statement classifier on arbitrary text.
#include <cstdint>
#include <string_view>

#include "router/session/statement_class.h"
#include "router/sql/lexer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shardline;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sql::LexResult lexed = sql::lex(text);
  for (const auto& token : lexed.tokens) {
    if (token.offset > size) {
      __builtin_trap();
    }
  }
  sql::Shape shape = sql::normalize(lexed);
  (void)shape;
  for (auto statement : sql::splitStatements(text)) {
    if (statement.data() < text.data() ||
        statement.data() + statement.size() > text.data() + size) {
      __builtin_trap();
    }
  }
  (void)sql::comments(text);
  (void)session::classify(text);
  return 0;
}
