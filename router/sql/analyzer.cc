#include "router/sql/analyzer.h"

#include <algorithm>
#include <array>
#include <utility>

#include "router/sql/parse_tree.h"
#include "router/sql/query_analyzer.h"
#include "router/sql/utility_analyzer.h"

namespace shardline::sql {

std::string_view statementKindName(StatementKind kind) {
  static constexpr std::array<std::string_view, 15> kNames = {
      "Select", "Insert", "Update", "Delete",  "Merge", "Copy", "Ddl",  "Transaction",
      "Set",    "Reset",  "Show",   "Explain", "Call",  "Do",   "Other"};
  auto index = static_cast<size_t>(kind);
  return index < kNames.size() ? kNames[index] : "?";
}

ValueRef ValueRef::constant(uint32_t index, bool negated) {
  ValueRef value;
  value.source = Source::Constant;
  value.index = index;
  value.negated = negated;
  return value;
}

ValueRef ValueRef::parameter(uint32_t number) {
  ValueRef value;
  value.source = Source::Parameter;
  value.index = number;
  return value;
}

ValueRef ValueRef::of(Source source) {
  ValueRef value;
  value.source = source;
  return value;
}

std::string describe(const ValueRef& value) {
  std::string out;
  switch (value.source) {
    case ValueRef::Source::Constant:
      out = (value.negated ? "-c" : "c") + std::to_string(value.index);
      break;
    case ValueRef::Source::Parameter:
      out = "$" + std::to_string(value.index);
      break;
    case ValueRef::Source::Default:
      return "default";
    case ValueRef::Source::Null:
      return "null";
    case ValueRef::Source::Expression:
      return "expr";
  }
  if (value.array) {
    out += "[]";
  }
  if (!value.cast.empty()) {
    out += "::" + value.cast;
  }
  return out;
}

const ColumnPin* TableRef::pin(std::string_view column) const {
  for (const ColumnPin& pin : pins) {
    if (pin.column == column) {
      return &pin;
    }
  }
  return nullptr;
}

int characterPosition(std::string_view sql, uint32_t offset) {
  int position = 1;
  for (size_t i = 0; i < offset && i < sql.size(); ++i) {
    if ((static_cast<unsigned char>(sql[i]) & 0xC0) != 0x80) {
      ++position;
    }
  }
  return position;
}

namespace {

// Functions that write, take locks or change session state although a SELECT may call them.
// Any other function is taken not to: the catalog is not consulted.
bool writesOrLocks(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kNames = {"nextval",
                                                             "setval",
                                                             "set_config",
                                                             "setseed",
                                                             "pg_notify",
                                                             "txid_current",
                                                             "pg_current_xact_id",
                                                             "lowrite",
                                                             "pg_logical_emit_message"};
  static constexpr std::array<std::string_view, 3> kPrefixes = {"pg_advisory_", "pg_try_advisory_",
                                                                "lo_"};
  if (std::find(kNames.begin(), kNames.end(), name) != kNames.end()) {
    return true;
  }
  return std::any_of(kPrefixes.begin(), kPrefixes.end(),
                     [&](std::string_view prefix) { return name.starts_with(prefix); });
}

bool isWrite(const PbNode* query) {
  switch (query != nullptr ? query->node_case : PG_QUERY__NODE__NODE__NOT_SET) {
    case PG_QUERY__NODE__NODE_INSERT_STMT:
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
    case PG_QUERY__NODE__NODE_DELETE_STMT:
    case PG_QUERY__NODE__NODE_MERGE_STMT:
      return true;
    default:
      return false;
  }
}

// Flags found anywhere in the statement, subqueries and WITH queries included.
void scanFlags(const PbNode* statement, Analysis& out) {
  walk(statement, [&](const ProtobufCMessage* message) {
    if (is(message, pg_query__func_call__descriptor)) {
      auto call = reinterpret_cast<const PgQuery__FuncCall*>(message);
      std::string_view name = lastName(call->funcname, call->n_funcname);
      if (writesOrLocks(name)) {
        out.writingFunction = true;
      } else if (std::find(out.functions.begin(), out.functions.end(), name) ==
                 out.functions.end()) {
        out.functions.emplace_back(name);
      }
    } else if (is(message, pg_query__locking_clause__descriptor)) {
      out.locksRows = true;
    } else if (is(message, pg_query__common_table_expr__descriptor)) {
      if (isWrite(reinterpret_cast<const PgQuery__CommonTableExpr*>(message)->ctequery)) {
        out.writingCte = true;
      }
    } else if (is(message, pg_query__param_ref__descriptor)) {
      int number = reinterpret_cast<const PgQuery__ParamRef*>(message)->number;
      out.maxParameter = std::max(out.maxParameter, static_cast<uint32_t>(std::max(number, 0)));
    }
    return true;
  });
}

bool readOnlyOf(const Analysis& out) {
  switch (out.kind) {
    case StatementKind::Select:
      return !out.locksRows && !out.writingCte && !out.writingFunction;
    case StatementKind::Show:
      return true;
    case StatementKind::Explain:
      return !out.explain.analyze ||
             (out.explain.statement != nullptr && out.explain.statement->readOnly);
    default:
      return false;
  }
}

void analyzeNode(const PbNode* statement, const TokenIndex& tokens, Analysis& out) {
  out.node = nodeName(statement);
  QueryAnalyzer queries(tokens, out);
  UtilityAnalyzer utility(queries, tokens, out);
  switch (statement->node_case) {
    case PG_QUERY__NODE__NODE_SELECT_STMT:
      if (statement->select_stmt->into_clause != nullptr) {
        utility.selectInto(statement);  // SELECT ... INTO creates a table
        break;
      }
      out.kind = StatementKind::Select;
      queries.analyze(statement, Scope::Top, QueryAnalyzer::Role::Statement);
      break;
    case PG_QUERY__NODE__NODE_INSERT_STMT:
      out.kind = StatementKind::Insert;
      queries.analyze(statement, Scope::Top, QueryAnalyzer::Role::Statement);
      break;
    case PG_QUERY__NODE__NODE_UPDATE_STMT:
      out.kind = StatementKind::Update;
      queries.analyze(statement, Scope::Top, QueryAnalyzer::Role::Statement);
      break;
    case PG_QUERY__NODE__NODE_DELETE_STMT:
      out.kind = StatementKind::Delete;
      queries.analyze(statement, Scope::Top, QueryAnalyzer::Role::Statement);
      break;
    case PG_QUERY__NODE__NODE_MERGE_STMT:
      out.kind = StatementKind::Merge;
      queries.analyze(statement, Scope::Top, QueryAnalyzer::Role::Statement);
      break;
    case PG_QUERY__NODE__NODE_EXPLAIN_STMT: {
      auto explained = std::make_shared<Analysis>();
      analyzeNode(statement->explain_stmt->query, tokens, *explained);
      utility.explain(statement->explain_stmt, std::move(explained));
      break;
    }
    default:
      utility.analyze(statement);
      break;
  }
  scanFlags(statement, out);
  out.readOnly = readOnlyOf(out);
}

}  // namespace

Analysis analyzeStatement(std::string_view sql, const LexResult& lexed, const Shape& shape) {
  Analysis out;
  if (size_t zero = sql.find('\0'); zero != std::string_view::npos) {
    out.error = "statement contains a zero byte";  // the protocol's strings cannot carry one
    out.errorPosition = characterPosition(sql, static_cast<uint32_t>(zero));
    out.cacheable = false;
    return out;
  }
  ParseTree tree(sql);
  if (!tree.ok()) {
    out.error = tree.error();
    out.errorPosition = tree.errorPosition();
    out.cacheable = false;
    return out;
  }
  if (tree.statementCount() == 0) {
    return out;  // only comments, or nothing: Postgres answers EmptyQueryResponse
  }
  if (tree.statementCount() > 1) {
    out.error =
        "the statement analyzer takes one statement, got " + std::to_string(tree.statementCount());
    out.cacheable = false;
    return out;
  }
  TokenIndex tokens(lexed, shape);
  analyzeNode(tree.statement(0), tokens, out);
  return out;
}

}  // namespace shardline::sql
