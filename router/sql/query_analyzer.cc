#include "router/sql/query_analyzer.h"

#include <algorithm>
#include <utility>

namespace shardline::sql {

namespace {

bool isQuery(const ProtobufCMessage* message) {
  return is(message, pg_query__select_stmt__descriptor) ||
         is(message, pg_query__insert_stmt__descriptor) ||
         is(message, pg_query__update_stmt__descriptor) ||
         is(message, pg_query__delete_stmt__descriptor) ||
         is(message, pg_query__merge_stmt__descriptor);
}

bool isSetOperation(const PgQuery__SelectStmt* select) {
  return select->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
         select->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED;
}

std::string aliasOf(const PgQuery__Alias* alias) {
  return alias != nullptr && alias->aliasname != nullptr ? alias->aliasname : "";
}

// VALUES rows alone, which INSERT reads row by row; with ORDER BY or LIMIT they are a query.
bool isPlainValues(const PgQuery__SelectStmt* select) {
  return select->n_values_lists > 0 && select->n_sort_clause == 0 &&
         select->limit_count == nullptr && select->limit_offset == nullptr &&
         select->with_clause == nullptr;
}

std::vector<int> allEntries(size_t count) {
  std::vector<int> entries(count);
  for (size_t i = 0; i < count; ++i) {
    entries[i] = static_cast<int>(i);
  }
  return entries;
}

std::vector<std::string> targetNames(PbNode* const* targets, size_t count) {
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) {
    if (targets[i]->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
        targets[i]->res_target->name != nullptr) {
      names.emplace_back(targets[i]->res_target->name);
    }
  }
  return names;
}

}  // namespace

bool QueryAnalyzer::CteScope::contains(std::string_view name) const {
  for (const CteScope* scope = this; scope != nullptr; scope = scope->outer) {
    for (const std::string& own : scope->names) {
      if (own == name) {
        return true;
      }
    }
  }
  return false;
}

// Statements.

void QueryAnalyzer::analyze(const PbNode* statement, Scope scope, Role role) {
  analyzeMessage(unwrap(statement), nullptr, scope, nullptr, role);
}

void QueryAnalyzer::analyzeMessage(const ProtobufCMessage* message, const Level* parent,
                                   Scope scope, const CteScope* ctes, Role role) {
  if (is(message, pg_query__select_stmt__descriptor)) {
    analyzeSelect(reinterpret_cast<const PgQuery__SelectStmt*>(message), parent, scope, ctes, role);
  } else if (is(message, pg_query__insert_stmt__descriptor)) {
    analyzeInsert(reinterpret_cast<const PgQuery__InsertStmt*>(message), parent, scope, ctes, role);
  } else if (is(message, pg_query__update_stmt__descriptor)) {
    analyzeUpdate(reinterpret_cast<const PgQuery__UpdateStmt*>(message), parent, scope, ctes, role);
  } else if (is(message, pg_query__delete_stmt__descriptor)) {
    analyzeDelete(reinterpret_cast<const PgQuery__DeleteStmt*>(message), parent, scope, ctes, role);
  } else if (is(message, pg_query__merge_stmt__descriptor)) {
    analyzeMerge(reinterpret_cast<const PgQuery__MergeStmt*>(message), parent, scope, ctes, role);
  } else if (message != nullptr) {
    analyzeUtility(message, {}, {}, innerScope(scope));
  }
}

void QueryAnalyzer::analyzeUtility(const ProtobufCMessage* statement,
                                   const std::vector<const PgQuery__RangeVar*>& written,
                                   const std::vector<const PgQuery__RangeVar*>& notTables,
                                   Scope queryScope) {
  walk(statement, [&](const ProtobufCMessage* message) {
    if (isQuery(message) && message != statement) {
      analyzeMessage(message, nullptr, queryScope, nullptr, Role::Nested);
      return false;
    }
    if (is(message, pg_query__range_var__descriptor)) {
      auto relation = reinterpret_cast<const PgQuery__RangeVar*>(message);
      if (std::find(notTables.begin(), notTables.end(), relation) != notTables.end()) {
        return false;
      }
      bool write = std::find(written.begin(), written.end(), relation) != written.end();
      addTable(relation, Scope::Top, write ? Access::Write : Access::Read);
      return false;
    }
    return true;
  });
}

QueryAnalyzer::CteScope QueryAnalyzer::analyzeWith(const PgQuery__WithClause* with,
                                                   const Level* parent, const CteScope* ctes) {
  CteScope all{ctes, {}};
  if (with == nullptr) {
    return all;
  }
  std::vector<const PgQuery__CommonTableExpr*> queries;
  for (size_t i = 0; i < with->n_ctes; ++i) {
    if (with->ctes[i]->node_case == PG_QUERY__NODE__NODE_COMMON_TABLE_EXPR) {
      queries.push_back(with->ctes[i]->common_table_expr);
      all.names.emplace_back(queries.back()->ctename);
    }
  }
  // A WITH query sees the ones before it; with RECURSIVE, all of them, itself included.
  for (size_t i = 0; i < queries.size(); ++i) {
    CteScope before{ctes, {all.names.begin(), all.names.begin() + static_cast<long>(i)}};
    analyzeMessage(unwrap(queries[i]->ctequery), parent, Scope::Cte,
                   with->recursive ? &all : &before, Role::Nested);
  }
  return all;
}

void QueryAnalyzer::analyzeSelect(const PgQuery__SelectStmt* select, const Level* parent,
                                  Scope scope, const CteScope* ctes, Role role) {
  CteScope with = analyzeWith(select->with_clause, parent, ctes);
  if (role == Role::Statement) {
    recordSelectFacts(select);
  }
  Level level(parent, scope, &with);
  if (isSetOperation(select)) {
    if (select->larg != nullptr) {
      analyzeSelect(select->larg, parent, scope, &with, Role::Nested);
    }
    if (select->rarg != nullptr) {
      analyzeSelect(select->rarg, parent, scope, &with, Role::Nested);
    }
  } else {
    for (size_t i = 0; i < select->n_from_clause; ++i) {
      addFromItem(level, select->from_clause[i], kSpine);
    }
    Context all = context(level, allEntries(level.entries.size()));
    extract(select->where_clause, all, level.facts);
    addJoinFacts(level);

    collectQueries(level, select->where_clause);
    collectQueries(level, select->having_clause);
    for (auto [items, count] : {std::pair(select->target_list, select->n_target_list),
                                std::pair(select->group_clause, select->n_group_clause),
                                std::pair(select->window_clause, select->n_window_clause),
                                std::pair(select->values_lists, select->n_values_lists),
                                std::pair(select->distinct_clause, select->n_distinct_clause)}) {
      for (size_t i = 0; i < count; ++i) {
        collectQueries(level, items[i]);
      }
    }
  }
  for (size_t i = 0; i < select->n_sort_clause; ++i) {
    collectQueries(level, select->sort_clause[i]);
  }
  collectQueries(level, select->limit_count);
  collectQueries(level, select->limit_offset);
  finish(level);
}

void QueryAnalyzer::analyzeInsert(const PgQuery__InsertStmt* insert, const Level* parent,
                                  Scope scope, const CteScope* ctes, Role role) {
  CteScope with = analyzeWith(insert->with_clause, parent, ctes);
  Level level(parent, scope, &with);
  bool conflict = insert->on_conflict_clause != nullptr;
  int target = addTarget(level, insert->relation, conflict ? Access::ReadWrite : Access::Write);

  InsertFacts facts;
  facts.columns = targetNames(insert->cols, insert->n_cols);
  const PbNode* source = insert->select_stmt;
  const PgQuery__SelectStmt* select =
      source != nullptr && source->node_case == PG_QUERY__NODE__NODE_SELECT_STMT
          ? source->select_stmt
          : nullptr;
  if (select == nullptr) {
    facts.defaultValues = true;
  } else if (isPlainValues(select)) {
    for (size_t i = 0; i < select->n_values_lists; ++i) {
      const PbNode* row = select->values_lists[i];
      collectQueries(level, row);
      std::vector<ValueRef>& values = facts.rows.emplace_back();
      if (row->node_case == PG_QUERY__NODE__NODE_LIST) {
        for (size_t j = 0; j < row->list->n_items; ++j) {
          values.push_back(valueOf(row->list->items[j]));
        }
      }
    }
  } else {
    facts.fromSelect = true;
    analyzeSelect(select, parent, innerScope(scope), &with, Role::Nested);
  }
  pinInsertedRows(target, facts);

  if (conflict) {
    const PgQuery__OnConflictClause* clause = insert->on_conflict_clause;
    addEntry(level, "excluded", -1);
    facts.onConflict = clause->action == PG_QUERY__ON_CONFLICT_ACTION__ONCONFLICT_UPDATE
                           ? ConflictAction::Update
                           : ConflictAction::Nothing;
    facts.conflictSetColumns = targetNames(clause->target_list, clause->n_target_list);
    for (size_t i = 0; i < clause->n_target_list; ++i) {
      collectQueries(level, clause->target_list[i]);
    }
    collectQueries(level, clause->where_clause);
  }
  for (size_t i = 0; i < insert->n_returning_list; ++i) {
    collectQueries(level, insert->returning_list[i]);
  }
  if (role == Role::Statement) {
    out_.target = target;
    out_.returning = insert->n_returning_list > 0;
    out_.insert = std::move(facts);
  }
  finish(level);
}

void QueryAnalyzer::pinInsertedRows(int target, const InsertFacts& facts) {
  std::vector<ColumnPin>& pins = out_.tables[target].pins;
  for (size_t column = 0; column < facts.columns.size() && !facts.rows.empty(); ++column) {
    ColumnPin pin{facts.columns[column], {}};
    bool everyRow = true;
    for (const std::vector<ValueRef>& row : facts.rows) {
      if (column >= row.size() || !row[column].pinnable()) {
        everyRow = false;
        break;
      }
      addValue(pin.values, row[column]);
    }
    if (everyRow) {
      pins.push_back(std::move(pin));
    }
  }
  std::sort(pins.begin(), pins.end(),
            [](const ColumnPin& a, const ColumnPin& b) { return a.column < b.column; });
}

void QueryAnalyzer::analyzeUpdate(const PgQuery__UpdateStmt* update, const Level* parent,
                                  Scope scope, const CteScope* ctes, Role role) {
  CteScope with = analyzeWith(update->with_clause, parent, ctes);
  Level level(parent, scope, &with);
  int target = addTarget(level, update->relation, Access::ReadWrite);
  for (size_t i = 0; i < update->n_from_clause; ++i) {
    addFromItem(level, update->from_clause[i], kSpine);
  }
  Context all = context(level, allEntries(level.entries.size()));
  extract(update->where_clause, all, level.facts);
  addJoinFacts(level);

  collectQueries(level, update->where_clause);
  for (size_t i = 0; i < update->n_target_list; ++i) {
    collectQueries(level, update->target_list[i]);
  }
  for (size_t i = 0; i < update->n_returning_list; ++i) {
    collectQueries(level, update->returning_list[i]);
  }
  if (role == Role::Statement) {
    out_.target = target;
    out_.returning = update->n_returning_list > 0;
    out_.update.setColumns = targetNames(update->target_list, update->n_target_list);
    out_.update.hasFrom = update->n_from_clause > 0;
  }
  finish(level);
}

void QueryAnalyzer::analyzeDelete(const PgQuery__DeleteStmt* del, const Level* parent, Scope scope,
                                  const CteScope* ctes, Role role) {
  CteScope with = analyzeWith(del->with_clause, parent, ctes);
  Level level(parent, scope, &with);
  int target = addTarget(level, del->relation, Access::ReadWrite);
  for (size_t i = 0; i < del->n_using_clause; ++i) {
    addFromItem(level, del->using_clause[i], kSpine);
  }
  Context all = context(level, allEntries(level.entries.size()));
  extract(del->where_clause, all, level.facts);
  addJoinFacts(level);

  collectQueries(level, del->where_clause);
  for (size_t i = 0; i < del->n_returning_list; ++i) {
    collectQueries(level, del->returning_list[i]);
  }
  if (role == Role::Statement) {
    out_.target = target;
    out_.returning = del->n_returning_list > 0;
    out_.del.hasUsing = del->n_using_clause > 0;
  }
  finish(level);
}

// MERGE pins nothing: its NOT MATCHED rows come from the source whatever the join says.
void QueryAnalyzer::analyzeMerge(const PgQuery__MergeStmt* merge, const Level* parent, Scope scope,
                                 const CteScope* ctes, Role role) {
  CteScope with = analyzeWith(merge->with_clause, parent, ctes);
  Level level(parent, scope, &with);
  int target = addTarget(level, merge->relation, Access::ReadWrite);
  addFromItem(level, merge->source_relation, kSpine);
  collectQueries(level, merge->join_condition);

  std::vector<std::string> setColumns;
  for (size_t i = 0; i < merge->n_merge_when_clauses; ++i) {
    const PbNode* clause = merge->merge_when_clauses[i];
    collectQueries(level, clause);
    if (clause->node_case == PG_QUERY__NODE__NODE_MERGE_WHEN_CLAUSE &&
        clause->merge_when_clause->command_type == PG_QUERY__CMD_TYPE__CMD_UPDATE) {
      for (std::string& name : targetNames(clause->merge_when_clause->target_list,
                                           clause->merge_when_clause->n_target_list)) {
        setColumns.push_back(std::move(name));
      }
    }
  }
  if (role == Role::Statement) {
    out_.target = target;
    out_.update.setColumns = std::move(setColumns);
  }
  finish(level);
}

// Range entries.

int QueryAnalyzer::addTable(const PgQuery__RangeVar* relation, Scope scope, Access access) {
  TableRef& table = out_.tables.emplace_back();
  table.schema = relation->schemaname != nullptr ? relation->schemaname : "";
  table.name = relation->relname != nullptr ? relation->relname : "";
  table.alias = aliasOf(relation->alias);
  table.read = access != Access::Write;
  table.written = access != Access::Read;
  table.scope = scope;
  return static_cast<int>(out_.tables.size()) - 1;
}

int QueryAnalyzer::addEntry(Level& level, std::string refname, int table) {
  level.entries.push_back(Entry{std::move(refname), {}, false, table});
  return static_cast<int>(level.entries.size()) - 1;
}

int QueryAnalyzer::addTarget(Level& level, const PgQuery__RangeVar* relation, Access access) {
  int table = addTable(relation, level.scope, access);
  const TableRef& ref = out_.tables[table];
  level.entries.push_back(
      Entry{ref.alias.empty() ? ref.name : ref.alias, ref.schema, !ref.alias.empty(), table});
  return table;
}

int QueryAnalyzer::addRelation(Level& level, const PgQuery__RangeVar* relation) {
  std::string_view schema = relation->schemaname != nullptr ? relation->schemaname : "";
  std::string_view catalog = relation->catalogname != nullptr ? relation->catalogname : "";
  std::string_view name = relation->relname != nullptr ? relation->relname : "";
  if (schema.empty() && catalog.empty() && level.ctes != nullptr && level.ctes->contains(name)) {
    std::string alias = aliasOf(relation->alias);
    return addEntry(level, alias.empty() ? std::string(name) : alias, -1);
  }
  addTarget(level, relation, Access::Read);
  return static_cast<int>(level.entries.size()) - 1;
}

std::vector<int> QueryAnalyzer::addFromItem(Level& level, const PbNode* item, int owner) {
  if (item == nullptr) {
    return {};
  }
  switch (item->node_case) {
    case PG_QUERY__NODE__NODE_RANGE_VAR:
      return {addRelation(level, item->range_var)};
    case PG_QUERY__NODE__NODE_RANGE_SUBSELECT: {
      const PgQuery__RangeSubselect* sub = item->range_subselect;
      // Only a LATERAL subquery sees the entries beside it.
      // TODO: pins on a derived table's columns (FROM (SELECT ...) s WHERE s.k = 1) are not
      // pushed into it, so its tables stay unpinned and such a read goes to every shard.
      level.children.push_back({unwrap(sub->subquery), sub->lateral ? &level : level.parent});
      return {addEntry(level, aliasOf(sub->alias), -1)};
    }
    case PG_QUERY__NODE__NODE_RANGE_FUNCTION:
      collectQueries(level, item);
      return {addEntry(level, aliasOf(item->range_function->alias), -1)};
    case PG_QUERY__NODE__NODE_RANGE_TABLE_FUNC:
      collectQueries(level, item);
      return {addEntry(level, aliasOf(item->range_table_func->alias), -1)};
    case PG_QUERY__NODE__NODE_RANGE_TABLE_SAMPLE: {
      std::vector<int> entries = addFromItem(level, item->range_table_sample->relation, owner);
      for (size_t i = 0; i < item->range_table_sample->n_args; ++i) {
        collectQueries(level, item->range_table_sample->args[i]);
      }
      return entries;
    }
    case PG_QUERY__NODE__NODE_JOIN_EXPR:
      return addJoin(level, item->join_expr, owner);
    default:
      return {};
  }
}

std::vector<int> QueryAnalyzer::addJoin(Level& level, const PgQuery__JoinExpr* join, int owner) {
  // The index is taken before the sides are read, so that joins inside a nullable side can
  // name this join as their owner.
  int index = static_cast<int>(level.joins.size());
  level.joins.emplace_back();
  int leftOwner = owner;
  int rightOwner = owner;
  switch (join->jointype) {
    case PG_QUERY__JOIN_TYPE__JOIN_LEFT:
      rightOwner = index;
      break;
    case PG_QUERY__JOIN_TYPE__JOIN_RIGHT:
      leftOwner = index;
      break;
    case PG_QUERY__JOIN_TYPE__JOIN_INNER:
      break;
    default:  // FULL: no side is restricted by the ON clause
      leftOwner = kUnrestricted;
      rightOwner = kUnrestricted;
      break;
  }
  std::vector<int> left = addFromItem(level, join->larg, leftOwner);
  std::vector<int> right = addFromItem(level, join->rarg, rightOwner);

  Join& info = level.joins[index];
  info.expr = join;
  info.owner = owner;
  info.left = left;
  info.right = right;
  if (join->alias != nullptr) {
    addEntry(level, aliasOf(join->alias), -1);
  }
  left.insert(left.end(), right.begin(), right.end());
  return left;
}

void QueryAnalyzer::addJoinFacts(Level& level) {
  level.outerFacts.resize(level.joins.size());
  for (size_t i = 0; i < level.joins.size(); ++i) {
    const Join& join = level.joins[i];
    collectQueries(level, join.expr->quals);
    FactSet* facts = nullptr;
    switch (join.expr->jointype) {
      case PG_QUERY__JOIN_TYPE__JOIN_INNER:
        if (join.owner == kSpine) {
          facts = &level.facts;
        } else if (join.owner >= 0) {
          facts = &level.outerFacts[join.owner];
        }
        break;
      case PG_QUERY__JOIN_TYPE__JOIN_LEFT:
      case PG_QUERY__JOIN_TYPE__JOIN_RIGHT:
        facts = &level.outerFacts[i];
        break;
      default:
        break;
    }
    if (facts == nullptr) {
      continue;
    }

    std::vector<int> both = join.left;
    both.insert(both.end(), join.right.begin(), join.right.end());
    Context scope = context(level, both);
    extract(join.expr->quals, scope, *facts);
    // TODO: NATURAL JOIN pins nothing: its common columns are known only from the catalog.
    if (join.expr->is_natural) {
      continue;
    }
    for (size_t u = 0; u < join.expr->n_using_clause; ++u) {
      std::string_view column = stringOf(join.expr->using_clause[u]);
      for (int l : join.left) {
        for (int r : join.right) {
          if (level.entries[l].table >= 0 && level.entries[r].table >= 0) {
            facts->equal.emplace_back(level.nodes.intern(l, column), level.nodes.intern(r, column));
          }
        }
      }
    }
  }
}

void QueryAnalyzer::collectQueries(Level& level, const PbNode* expr) {
  if (expr == nullptr) {
    return;
  }
  walk(expr, [&](const ProtobufCMessage* message) {
    if (isQuery(message)) {
      level.children.push_back({message, &level});
      return false;
    }
    return true;
  });
}

// Pins.

void QueryAnalyzer::finish(Level& level) {
  solve(level);
  recordPins(level);
  for (const auto& [message, parent] : level.children) {
    analyzeMessage(message, parent, innerScope(level.scope), level.ctes, Role::Nested);
  }
}

void QueryAnalyzer::solve(Level& level) {
  size_t count = level.nodes.size();
  level.pins = solvePins(count, level.facts);
  level.outerFacts.resize(level.joins.size());

  // Each outer join pins its nullable side from its ON clause and what is known of the
  // other tables; what one join learns may help another, so repeat until nothing changes.
  for (size_t round = 0; round <= level.joins.size(); ++round) {
    bool changed = false;
    for (size_t i = 0; i < level.joins.size(); ++i) {
      const Join& join = level.joins[i];
      int type = join.expr->jointype;
      if (type != PG_QUERY__JOIN_TYPE__JOIN_LEFT && type != PG_QUERY__JOIN_TYPE__JOIN_RIGHT) {
        continue;
      }
      const std::vector<int>& nullable =
          type == PG_QUERY__JOIN_TYPE__JOIN_LEFT ? join.right : join.left;
      PinMap derived = solvePins(count, level.outerFacts[i], &level.pins);
      for (size_t node = 0; node < count; ++node) {
        int entry = level.nodes.entry(static_cast<int>(node));
        if (derived[node] && !level.pins[node] &&
            std::find(nullable.begin(), nullable.end(), entry) != nullable.end()) {
          level.pins[node] = std::move(derived[node]);
          changed = true;
        }
      }
    }
    if (!changed) {
      break;
    }
  }
}

void QueryAnalyzer::recordPins(const Level& level) {
  std::vector<int> touched;
  for (size_t node = 0; node < level.nodes.size(); ++node) {
    int entry = level.nodes.entry(static_cast<int>(node));
    if (entry < 0 || !level.pins[node] || level.entries[entry].table < 0) {
      continue;
    }
    int table = level.entries[entry].table;
    out_.tables[table].pins.push_back(
        ColumnPin{level.nodes.column(static_cast<int>(node)), *level.pins[node]});
    touched.push_back(table);
  }
  for (int table : touched) {
    std::vector<ColumnPin>& pins = out_.tables[table].pins;
    std::sort(pins.begin(), pins.end(),
              [](const ColumnPin& a, const ColumnPin& b) { return a.column < b.column; });
  }
}

}  // namespace shardline::sql
