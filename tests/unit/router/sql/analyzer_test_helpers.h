// Helpers shared by the analyzer tests.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "router/sql/analyzer.h"
#include "router/sql/lexer.h"

namespace analyzer_test {

using namespace shardline::sql;

inline Analysis analyzed(std::string_view sql) {
  LexResult lexed = lex(sql);
  REQUIRE_MESSAGE(lexed.ok(), lexed.error);
  Shape shape = normalize(lexed);
  return analyzeStatement(sql, lexed, shape);
}

// Analyzes a statement that must parse.
inline Analysis ok(std::string_view sql) {
  Analysis analysis = analyzed(sql);
  REQUIRE_MESSAGE(analysis.ok(), analysis.error);
  return analysis;
}

inline std::string values(const std::vector<ValueRef>& list) {
  std::string out;
  for (const ValueRef& value : list) {
    out += (out.empty() ? "" : ",") + describe(value);
  }
  return out;
}

// The first table reference whose alias, else name, is `ref`.
inline const TableRef* table(const Analysis& analysis, std::string_view ref) {
  for (const TableRef& table : analysis.tables) {
    if ((table.alias.empty() ? table.name : table.alias) == ref) {
      return &table;
    }
  }
  return nullptr;
}

// "c0,$1" for the pin of `column` of table `ref`; "" when unpinned.
inline std::string pin(const Analysis& analysis, std::string_view ref, std::string_view column) {
  const TableRef* found = table(analysis, ref);
  REQUIRE_MESSAGE(found != nullptr, "no table ", ref);
  const ColumnPin* pinned = found->pin(column);
  return pinned != nullptr ? values(pinned->values) : "";
}

// Every pin of table `ref`: "name=c1 user_id=c0".
inline std::string pins(const Analysis& analysis, std::string_view ref) {
  const TableRef* found = table(analysis, ref);
  REQUIRE_MESSAGE(found != nullptr, "no table ", ref);
  std::string out;
  for (const ColumnPin& pinned : found->pins) {
    out += (out.empty() ? "" : " ") + pinned.column + "=" + values(pinned.values);
  }
  return out;
}

// "schema.name alias rw scope" for every table reference, joined by "; ".
inline std::string tables(const Analysis& analysis) {
  std::string out;
  for (const TableRef& table : analysis.tables) {
    if (!out.empty()) {
      out += "; ";
    }
    out += table.schema.empty() ? table.name : table.schema + "." + table.name;
    if (!table.alias.empty()) {
      out += " " + table.alias;
    }
    out += std::string(" ") + (table.read ? "r" : "") + (table.written ? "w" : "");
    out += table.scope == Scope::Top ? " top" : table.scope == Scope::Subquery ? " sub" : " cte";
  }
  return out;
}

inline std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    out += (out.empty() ? "" : ",") + name;
  }
  return out;
}

}  // namespace analyzer_test
