#include "router/sql/utility_analyzer.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shardline::sql {

namespace {

// The text of a constant-like node: an option's argument, a SET value, a transaction option.
std::string textOf(const PbNode* node) {
  if (node == nullptr) {
    return {};
  }
  switch (node->node_case) {
    case PG_QUERY__NODE__NODE_STRING:
      return std::string(stringOf(node));
    case PG_QUERY__NODE__NODE_INTEGER:
      return std::to_string(node->integer->ival);
    case PG_QUERY__NODE__NODE_FLOAT:
      return node->float_->fval != nullptr ? node->float_->fval : "";
    case PG_QUERY__NODE__NODE_BOOLEAN:
      return node->boolean->boolval ? "true" : "false";
    case PG_QUERY__NODE__NODE_A_STAR:
      return "*";
    case PG_QUERY__NODE__NODE_LIST:
      return joinStrings(node->list->items, node->list->n_items, ",");
    case PG_QUERY__NODE__NODE_A_CONST: {
      const PgQuery__AConst* value = node->a_const;
      switch (value->val_case) {
        case PG_QUERY__A__CONST__VAL_SVAL:
          return value->sval->sval != nullptr ? value->sval->sval : "";
        case PG_QUERY__A__CONST__VAL_IVAL:
          return std::to_string(value->ival->ival);
        case PG_QUERY__A__CONST__VAL_FVAL:
          return value->fval->fval != nullptr ? value->fval->fval : "";
        case PG_QUERY__A__CONST__VAL_BOOLVAL:
          return value->boolval->boolval ? "true" : "false";
        default:
          return {};
      }
    }
    default:
      return {};
  }
}

// A boolean option as Postgres' parse_bool reads it; no argument means true.
bool optionIsTrue(const PbNode* arg) {
  if (arg == nullptr) {
    return true;
  }
  std::string text = textOf(arg);
  for (char& c : text) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return text == "on" || text == "1" || text.starts_with('t') || text.starts_with('y');
}

std::string lowerCase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return text;
}

bool isTableType(PgQuery__ObjectType type) {
  switch (type) {
    case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
    case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW:
    case PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW:
    case PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE:
      return true;
    default:
      return false;
  }
}

// ALTER TABLE t RENAME COLUMN, ... CONSTRAINT, ALTER TRIGGER ... ON t, ...: `relation` is a table.
bool renamesInTable(PgQuery__ObjectType type) {
  switch (type) {
    case PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN:
    case PG_QUERY__OBJECT_TYPE__OBJECT_TABCONSTRAINT:
    case PG_QUERY__OBJECT_TYPE__OBJECT_TRIGGER:
    case PG_QUERY__OBJECT_TYPE__OBJECT_RULE:
    case PG_QUERY__OBJECT_TYPE__OBJECT_POLICY:
      return true;
    default:
      return isTableType(type);
  }
}

// The DDL action of a statement node, or nullopt when it is not DDL. Statements about the
// whole server (databases, tablespaces, ALTER SYSTEM) are not: they are Other.
std::optional<DdlAction> ddlActionOf(const PbNode* statement) {
  std::string_view name = nodeName(statement);
  for (std::string_view server :
       {"CreatedbStmt", "DropdbStmt", "AlterDatabaseStmt", "AlterDatabaseSetStmt",
        "AlterDatabaseRefreshCollStmt", "AlterSystemStmt", "CreateTableSpaceStmt",
        "DropTableSpaceStmt", "AlterTableSpaceOptionsStmt"}) {
    if (name == server) {
      return std::nullopt;
    }
  }
  if (name == "GrantStmt") {
    return statement->grant_stmt->is_grant ? DdlAction::Grant : DdlAction::Revoke;
  }
  if (name == "GrantRoleStmt") {
    return statement->grant_role_stmt->is_grant ? DdlAction::Grant : DdlAction::Revoke;
  }
  if (name.starts_with("Create") || name == "ViewStmt" || name == "IndexStmt" ||
      name == "RuleStmt" || name == "DefineStmt" || name == "CompositeTypeStmt" ||
      name == "ImportForeignSchemaStmt") {
    return DdlAction::Create;
  }
  if (name.starts_with("Alter")) {
    return DdlAction::Alter;
  }
  if (name.starts_with("Drop")) {
    return DdlAction::Drop;
  }
  if (name == "TruncateStmt") {
    return DdlAction::Truncate;
  }
  if (name == "CommentStmt") {
    return DdlAction::Comment;
  }
  if (name == "RenameStmt") {
    return DdlAction::Rename;
  }
  if (name == "RefreshMatViewStmt") {
    return DdlAction::Refresh;
  }
  if (name == "ReassignOwnedStmt" || name == "SecLabelStmt") {
    return DdlAction::Other;
  }
  return std::nullopt;
}

}  // namespace

void UtilityAnalyzer::analyze(const PbNode* statement) {
  switch (statement->node_case) {
    case PG_QUERY__NODE__NODE_COPY_STMT:
      copy(statement->copy_stmt);
      return;
    case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
      transaction(statement->transaction_stmt);
      return;
    case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
      setting(statement->variable_set_stmt);
      return;
    case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT: {
      const char* name = statement->variable_show_stmt->name;
      out_.kind = StatementKind::Show;
      out_.setting.action = SettingAction::Show;
      out_.setting.name = name != nullptr ? name : "";
      return;
    }
    case PG_QUERY__NODE__NODE_CALL_STMT: {
      out_.kind = StatementKind::Call;
      const PgQuery__FuncCall* call = statement->call_stmt->funccall;
      if (call != nullptr) {
        out_.call.name = lastName(call->funcname, call->n_funcname);
        if (call->n_funcname >= 2) {
          out_.call.schema = stringOf(call->funcname[call->n_funcname - 2]);
        }
      }
      return;
    }
    case PG_QUERY__NODE__NODE_DO_STMT:
      out_.kind = StatementKind::Do;
      return;
    default:
      break;
  }
  if (std::optional<DdlAction> action = ddlActionOf(statement)) {
    ddl(statement, *action);
    return;
  }
  out_.kind = StatementKind::Other;
  queries_.analyzeUtility(unwrap(statement), {}, {}, Scope::Subquery);
}

void UtilityAnalyzer::selectInto(const PbNode* statement) {
  out_.kind = StatementKind::Ddl;
  out_.ddl.action = DdlAction::Create;
  queries_.analyze(statement, Scope::Top, QueryAnalyzer::Role::Statement);
  out_.target =
      queries_.addTable(statement->select_stmt->into_clause->rel, Scope::Top, Access::Write);
}

void UtilityAnalyzer::explain(const PgQuery__ExplainStmt* explain,
                              std::shared_ptr<Analysis> explained) {
  out_.kind = StatementKind::Explain;
  for (size_t i = 0; i < explain->n_options; ++i) {
    if (explain->options[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) {
      continue;
    }
    const PgQuery__DefElem* option = explain->options[i]->def_elem;
    if (std::string_view(option->defname) == "analyze") {
      out_.explain.analyze = optionIsTrue(option->arg);
      if (valueIsConstant(option)) {
        out_.cacheable = false;  // EXPLAIN (ANALYZE 0) and (ANALYZE 1) share a shape
      }
    }
  }
  // The router routes EXPLAIN as the statement it explains.
  out_.tables = explained->tables;
  out_.target = explained->target;
  out_.returning = explained->returning;
  out_.cacheable = out_.cacheable && explained->cacheable;
  out_.explain.statement = std::move(explained);
}

void UtilityAnalyzer::copy(const PgQuery__CopyStmt* copy) {
  out_.kind = StatementKind::Copy;
  CopyFacts& facts = out_.copy;
  facts.direction = copy->is_from ? CopyDirection::From : CopyDirection::To;
  bool client = copy->filename == nullptr || copy->filename[0] == '\0';
  facts.endpoint = client ? CopyEndpoint::Client
                          : (copy->is_program ? CopyEndpoint::Program : CopyEndpoint::File);
  for (size_t i = 0; i < copy->n_attlist; ++i) {
    facts.columns.emplace_back(stringOf(copy->attlist[i]));
  }
  facts.where = copy->where_clause != nullptr;
  if (copy->relation != nullptr) {
    out_.target =
        queries_.addTable(copy->relation, Scope::Top, copy->is_from ? Access::Write : Access::Read);
  }
  if (copy->query != nullptr) {
    facts.query = true;
    queries_.analyze(copy->query, Scope::Top, QueryAnalyzer::Role::Nested);
  }

  for (size_t i = 0; i < copy->n_options; ++i) {
    if (copy->options[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) {
      continue;
    }
    const PgQuery__DefElem* option = copy->options[i]->def_elem;
    if (valueIsConstant(option)) {
      out_.cacheable = false;  // DELIMITER ',' and DELIMITER ';' share a shape
    }
    std::string name = lowerCase(option->defname);
    std::string value = textOf(option->arg);
    if (name != "format") {
      facts.options.push_back(CopyOption{std::move(name), std::move(value)});
      continue;
    }
    value = lowerCase(std::move(value));
    facts.format = value == "csv"      ? CopyFormat::Csv
                   : value == "binary" ? CopyFormat::Binary
                                       : CopyFormat::Text;
  }
}

void UtilityAnalyzer::transaction(const PgQuery__TransactionStmt* transaction) {
  out_.kind = StatementKind::Transaction;
  TransactionFacts& facts = out_.transaction;
  switch (transaction->kind) {
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
      facts.action = TransactionAction::Start;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
      facts.action = TransactionAction::Commit;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
      facts.action = TransactionAction::Rollback;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
      facts.action = TransactionAction::Savepoint;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
      facts.action = TransactionAction::Release;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
      facts.action = TransactionAction::RollbackTo;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
      facts.action = TransactionAction::Prepare;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED:
      facts.action = TransactionAction::CommitPrepared;
      break;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED:
      facts.action = TransactionAction::RollbackPrepared;
      break;
    default:
      facts.action = TransactionAction::Begin;
      break;
  }
  facts.chain = transaction->chain;
  facts.savepoint = transaction->savepoint_name != nullptr ? transaction->savepoint_name : "";
  transactionOptions(transaction->options, transaction->n_options);
  // The transaction id is a string constant, and the statement's only one.
  bool prepared = facts.action == TransactionAction::Prepare ||
                  facts.action == TransactionAction::CommitPrepared ||
                  facts.action == TransactionAction::RollbackPrepared;
  if (prepared && tokens_.constantCount() == 1) {
    facts.gid = ValueRef::constant(0);
  }
}

void UtilityAnalyzer::transactionOptions(PbNode* const* options, size_t count) {
  TransactionFacts& facts = out_.transaction;
  for (size_t i = 0; i < count; ++i) {
    if (options[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) {
      continue;
    }
    const PgQuery__DefElem* option = options[i]->def_elem;
    std::string_view name = option->defname;
    std::string value = textOf(option->arg);
    if (name == "transaction_isolation") {
      facts.isolation = value;
    } else if (name == "transaction_read_only") {
      facts.access = value != "0" ? AccessMode::ReadOnly : AccessMode::ReadWrite;
    } else if (name == "transaction_deferrable") {
      facts.deferrable = value != "0";
    }
  }
}

void UtilityAnalyzer::setting(const PgQuery__VariableSetStmt* set) {
  SettingFacts& facts = out_.setting;
  out_.kind = StatementKind::Set;
  facts.name = set->name != nullptr ? set->name : "";
  facts.local = set->is_local;
  switch (set->kind) {
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT:
      facts.action = SettingAction::SetDefault;
      return;
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_CURRENT:
      facts.action = SettingAction::SetCurrent;
      return;
    case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET:
      out_.kind = StatementKind::Reset;
      facts.action = SettingAction::Reset;
      return;
    case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL:
      out_.kind = StatementKind::Reset;
      facts.action = SettingAction::ResetAll;
      return;
    case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI:
      // SET TRANSACTION ..., SET SESSION CHARACTERISTICS AS TRANSACTION ...,
      // SET TRANSACTION SNAPSHOT '...': the grammar names them in upper case.
      facts.action = SettingAction::SetMulti;
      facts.name = lowerCase(std::move(facts.name));
      transactionOptions(set->args, set->n_args);
      break;
    default:
      facts.action = SettingAction::Set;
      break;
  }

  for (size_t i = 0; i < set->n_args; ++i) {
    const PbNode* arg = set->args[i];
    if (arg->node_case == PG_QUERY__NODE__NODE_DEF_ELEM) {
      continue;
    }
    SettingValue value;
    if (arg->node_case == PG_QUERY__NODE__NODE_A_CONST) {
      value.value = tokens_.constantAt(arg->a_const->location);
      if (value.value.source != ValueRef::Source::Constant) {
        value.word = textOf(arg);  // a key word or identifier: SET x = on, SET ROLE admin
      }
    } else {
      value.value = queries_.valueOf(arg);
    }
    facts.values.push_back(std::move(value));
  }
}

void UtilityAnalyzer::ddl(const PbNode* statement, DdlAction action) {
  out_.kind = StatementKind::Ddl;
  out_.ddl.action = action;

  // The relations the statement defines or changes; other relations it names (a foreign
  // key's table, INHERITS, LIKE) are read.
  std::vector<const PgQuery__RangeVar*> written;
  std::vector<const PgQuery__RangeVar*> notTables;
  auto add = [&](const PgQuery__RangeVar* relation, bool table) {
    if (relation != nullptr) {
      (table ? written : notTables).push_back(relation);
    }
  };
  switch (statement->node_case) {
    case PG_QUERY__NODE__NODE_CREATE_STMT:
      add(statement->create_stmt->relation, true);
      break;
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT: {
      const PgQuery__IntoClause* into = statement->create_table_as_stmt->into;
      add(into != nullptr ? into->rel : nullptr, true);
      break;
    }
    case PG_QUERY__NODE__NODE_VIEW_STMT:
      add(statement->view_stmt->view, true);
      break;
    case PG_QUERY__NODE__NODE_INDEX_STMT:
      add(statement->index_stmt->relation, true);
      break;
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
      add(statement->alter_table_stmt->relation, isTableType(statement->alter_table_stmt->objtype));
      break;
    case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
      for (size_t i = 0; i < statement->truncate_stmt->n_relations; ++i) {
        const PbNode* relation = statement->truncate_stmt->relations[i];
        if (relation->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
          add(relation->range_var, true);
        }
      }
      break;
    case PG_QUERY__NODE__NODE_GRANT_STMT: {
      const PgQuery__GrantStmt* grant = statement->grant_stmt;
      for (size_t i = 0; i < grant->n_objects; ++i) {
        if (grant->objects[i]->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
          add(grant->objects[i]->range_var, grant->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE);
        }
      }
      break;
    }
    case PG_QUERY__NODE__NODE_RENAME_STMT:
      add(statement->rename_stmt->relation, renamesInTable(statement->rename_stmt->rename_type));
      break;
    case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
      add(statement->refresh_mat_view_stmt->relation, true);
      break;
    case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT:
      add(statement->create_trig_stmt->relation, true);
      break;
    case PG_QUERY__NODE__NODE_RULE_STMT:
      add(statement->rule_stmt->relation, true);
      break;
    case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
      add(statement->create_policy_stmt->table, true);
      break;
    case PG_QUERY__NODE__NODE_ALTER_POLICY_STMT:
      add(statement->alter_policy_stmt->table, true);
      break;
    case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
      add(statement->alter_object_schema_stmt->relation,
          isTableType(statement->alter_object_schema_stmt->object_type));
      break;
    case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
      add(statement->create_seq_stmt->sequence, false);
      break;
    case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
      add(statement->alter_seq_stmt->sequence, false);
      break;
    default:
      break;
  }
  queries_.analyzeUtility(unwrap(statement), written, notTables, Scope::Subquery);

  // DROP and COMMENT name their tables by name lists rather than relations.
  if (statement->node_case == PG_QUERY__NODE__NODE_DROP_STMT &&
      isTableType(statement->drop_stmt->remove_type)) {
    for (size_t i = 0; i < statement->drop_stmt->n_objects; ++i) {
      const PbNode* object = statement->drop_stmt->objects[i];
      if (object->node_case == PG_QUERY__NODE__NODE_LIST) {
        addNamedTable(object->list->items, object->list->n_items);
      }
    }
  }
  if (statement->node_case == PG_QUERY__NODE__NODE_COMMENT_STMT) {
    const PgQuery__CommentStmt* comment = statement->comment_stmt;
    const PbNode* object = comment->object;
    if (object != nullptr && object->node_case == PG_QUERY__NODE__NODE_LIST) {
      size_t count = object->list->n_items;
      if (isTableType(comment->objtype)) {
        addNamedTable(object->list->items, count);
      } else if (comment->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN && count >= 2) {
        addNamedTable(object->list->items, count - 1);
      }
    }
  }

  for (size_t i = 0; i < out_.tables.size() && out_.target < 0; ++i) {
    if (out_.tables[i].written) {
      out_.target = static_cast<int>(i);
    }
  }
}

void UtilityAnalyzer::addNamedTable(PbNode* const* names, size_t count) {
  if (count == 0) {
    return;
  }
  TableRef& table = out_.tables.emplace_back();
  table.name = stringOf(names[count - 1]);
  if (count >= 2) {
    table.schema = stringOf(names[count - 2]);
  }
  table.written = true;
  table.scope = Scope::Top;
}

bool UtilityAnalyzer::valueIsConstant(const PgQuery__DefElem* option) const {
  int at = tokens_.tokenAt(option->location);
  if (at < 0) {
    return option->arg != nullptr;  // cannot tell: assume it may be
  }
  for (int i = at + 1; i < tokens_.tokenCount() && i <= at + 3; ++i) {
    if (tokens_.isConstant(i)) {
      return true;
    }
    const Token& token = tokens_.token(i);
    bool sign = token.kind == TokenKind::Operator && (token.view() == "-" || token.view() == "+");
    if (!sign && !isKeyword(token, "as")) {
      return false;
    }
  }
  return false;
}

}  // namespace shardline::sql
