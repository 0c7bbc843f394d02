// Checks a statement against the Postgres 15 grammar (libpg_query) without a
// server, for Parse messages the router answers before a backend is free.
//
// Any thread may call it.
#pragma once

#include <string>
#include <string_view>

namespace shardline::sql {

struct SyntaxError {
  std::string message;  // as Postgres words it, e.g. `syntax error at or near "SELEC"`
  int position = 0;     // 1-based character position, 0 when unknown
  bool ok() const { return message.empty(); }
};

SyntaxError checkSyntax(const std::string& query);

}  // namespace shardline::sql
