#include "router/sql/syntax_check.h"

#include <pg_query.h>

namespace shardline::sql {

SyntaxError checkSyntax(const std::string& query) {
  SyntaxError result;
  PgQueryParseResult parsed = pg_query_parse(query.c_str());
  if (parsed.error != nullptr) {
    result.message = parsed.error->message != nullptr ? parsed.error->message : "syntax error";
    result.position = parsed.error->cursorpos;
  }
  pg_query_free_parse_result(parsed);
  return result;
}

}  // namespace shardline::sql
