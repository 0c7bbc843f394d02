// The part of the statement analyzer that reads utility statements: COPY, EXPLAIN, DDL,
// transaction control, SET/RESET/SHOW, CALL, DO and the rest. Internal to router/sql.
//
// An instance serves one statement on one thread.
#pragma once

#include <memory>

#include "router/sql/analyzer.h"
#include "router/sql/parse_tree.h"
#include "router/sql/query_analyzer.h"

namespace shardline::sql {

class UtilityAnalyzer {
 public:
  UtilityAnalyzer(QueryAnalyzer& queries, const TokenIndex& tokens, Analysis& out)
      : queries_(queries), tokens_(tokens), out_(out) {}

  // Reads any statement but SELECT, INSERT, UPDATE, DELETE, MERGE and EXPLAIN.
  void analyze(const PbNode* statement);
  // SELECT ... INTO new_table: DDL that reads.
  void selectInto(const PbNode* statement);
  // EXPLAIN, given the explained statement's facts.
  void explain(const PgQuery__ExplainStmt* explain, std::shared_ptr<Analysis> explained);

 private:
  void copy(const PgQuery__CopyStmt* copy);
  void transaction(const PgQuery__TransactionStmt* transaction);
  void transactionOptions(PbNode* const* options, size_t count);
  void setting(const PgQuery__VariableSetStmt* set);
  void ddl(const PbNode* statement, DdlAction action);
  void addNamedTable(PbNode* const* names, size_t count);

  // True when the value of option `option` is written as a constant, so that it may differ
  // between statements of one shape.
  bool valueIsConstant(const PgQuery__DefElem* option) const;

  QueryAnalyzer& queries_;
  const TokenIndex& tokens_;
  Analysis& out_;
};

}  // namespace shardline::sql
