// QueryAnalyzer, continued: values, equality facts, and the facts of a SELECT.
#include <algorithm>
#include <string>
#include <utility>

#include "router/sql/query_analyzer.h"

namespace shardline::sql {

namespace {

bool isEquality(PbNode* const* name, size_t count) {
  if (count == 1) {
    return stringOf(name[0]) == "=";
  }
  return count == 2 && stringOf(name[0]) == "pg_catalog" && stringOf(name[1]) == "=";
}

// The name a cast gives its value, or "" when the cast can change the value beyond a type
// conversion (a type modifier such as varchar(3) or numeric(4,1) truncates or rounds).
std::string castName(const PgQuery__TypeName* type) {
  if (type == nullptr || type->setof || type->pct_type || type->n_typmods > 0) {
    return {};
  }
  std::string name(lastName(type->names, type->n_names));
  if (type->n_array_bounds > 0) {
    name += "[]";
  }
  return name;
}

// The built-in aggregates; a user-defined one is not recognised unless the call has
// aggregate syntax (count(*), DISTINCT, ORDER BY, FILTER, WITHIN GROUP).
constexpr std::string_view kAggregates =
    " array_agg avg bit_and bit_or bit_xor bool_and bool_or corr count covar_pop "
    "covar_samp cume_dist dense_rank every json_agg json_object_agg jsonb_agg "
    "jsonb_object_agg max min mode percent_rank percentile_cont percentile_disc "
    "range_agg range_intersect_agg rank regr_avgx regr_avgy regr_count regr_intercept "
    "regr_r2 regr_slope regr_sxx regr_sxy regr_syy stddev stddev_pop stddev_samp "
    "string_agg sum var_pop var_samp variance xmlagg ";

bool isAggregate(const PgQuery__FuncCall* call) {
  if (call->agg_star || call->agg_distinct || call->agg_within_group || call->n_agg_order > 0 ||
      call->agg_filter != nullptr) {
    return true;
  }
  std::string_view name = lastName(call->funcname, call->n_funcname);
  std::string word = " " + std::string(name) + " ";
  return kAggregates.find(word) != std::string_view::npos;
}

// Marks aggregate and window calls in `node`, outside any subquery.
void scanCalls(const PbNode* node, SelectFacts& facts) {
  if (node == nullptr) {
    return;
  }
  walk(node, [&](const ProtobufCMessage* message) {
    if (is(message, pg_query__select_stmt__descriptor)) {
      return false;
    }
    if (is(message, pg_query__func_call__descriptor)) {
      auto call = reinterpret_cast<const PgQuery__FuncCall*>(message);
      if (call->over != nullptr) {
        facts.windowFunctions = true;
      } else if (isAggregate(call)) {
        facts.aggregates = true;
      }
    }
    return true;
  });
}

void scanSelectCalls(const PgQuery__SelectStmt* select, SelectFacts& facts) {
  if (select->larg != nullptr) {
    scanSelectCalls(select->larg, facts);
  }
  if (select->rarg != nullptr) {
    scanSelectCalls(select->rarg, facts);
  }
  for (size_t i = 0; i < select->n_target_list; ++i) {
    scanCalls(select->target_list[i], facts);
  }
  for (size_t i = 0; i < select->n_sort_clause; ++i) {
    scanCalls(select->sort_clause[i], facts);
  }
  scanCalls(select->having_clause, facts);
}

}  // namespace

// Tokens.

int TokenIndex::tokenAt(int offset) const {
  if (offset < 0) {
    return -1;
  }
  const std::vector<Token>& tokens = lexed_.tokens;
  auto it = std::lower_bound(tokens.begin(), tokens.end(), static_cast<uint32_t>(offset),
                             [](const Token& token, uint32_t at) { return token.offset < at; });
  if (it == tokens.end() || it->offset != static_cast<uint32_t>(offset)) {
    return -1;
  }
  return static_cast<int>(it - tokens.begin());
}

bool TokenIndex::isConstant(int index) const {
  switch (lexed_.tokens[index].kind) {
    case TokenKind::String:
    case TokenKind::BitString:
    case TokenKind::Integer:
    case TokenKind::Numeric:
      return true;
    default:
      return false;
  }
}

ValueRef TokenIndex::constantAt(int location) const {
  int index = tokenAt(location);
  if (index < 0) {
    return {};
  }
  // Postgres folds a sign into a numeric constant and reports the sign's location.
  bool negated = false;
  while (index < tokenCount() && token(index).kind == TokenKind::Operator &&
         (token(index).view() == "-" || token(index).view() == "+")) {
    negated = negated != (token(index).view() == "-");
    ++index;
  }
  if (index >= tokenCount() || !isConstant(index)) {
    return {};
  }
  const std::vector<Token>& constants = shape_.constants;
  uint32_t offset = token(index).offset;
  auto it = std::lower_bound(constants.begin(), constants.end(), offset,
                             [](const Token& token, uint32_t at) { return token.offset < at; });
  if (it == constants.end() || it->offset != offset) {
    return {};
  }
  return ValueRef::constant(static_cast<uint32_t>(it - constants.begin()), negated);
}

// Values.

ValueRef QueryAnalyzer::valueOf(const PbNode* expr) const {
  if (expr == nullptr) {
    return {};
  }
  switch (expr->node_case) {
    case PG_QUERY__NODE__NODE_A_CONST:
      return expr->a_const->isnull ? ValueRef::of(ValueRef::Source::Null)
                                   : tokens_.constantAt(expr->a_const->location);
    case PG_QUERY__NODE__NODE_PARAM_REF:
      return expr->param_ref->number > 0
                 ? ValueRef::parameter(static_cast<uint32_t>(expr->param_ref->number))
                 : ValueRef();
    case PG_QUERY__NODE__NODE_SET_TO_DEFAULT:
      return ValueRef::of(ValueRef::Source::Default);
    case PG_QUERY__NODE__NODE_TYPE_CAST: {
      const PbNode* arg = expr->type_cast->arg;
      if (arg == nullptr || (arg->node_case != PG_QUERY__NODE__NODE_A_CONST &&
                             arg->node_case != PG_QUERY__NODE__NODE_PARAM_REF)) {
        return {};
      }
      ValueRef value = valueOf(arg);
      std::string cast = castName(expr->type_cast->type_name);
      if (!value.pinnable() || cast.empty()) {
        return value.source == ValueRef::Source::Null ? value : ValueRef();
      }
      // A cast rounds a fraction (4.6::bigint is 5): such a constant cannot be read as a key.
      if (value.source == ValueRef::Source::Constant &&
          tokens_.constantKind(value.index) == TokenKind::Numeric) {
        return {};
      }
      value.cast = std::move(cast);
      return value;
    }
    default:
      return {};
  }
}

ValueSet QueryAnalyzer::arrayValues(const PbNode* expr) const {
  if (expr == nullptr) {
    return {};
  }
  const PbNode* elements = expr;
  std::string elementCast;
  if (expr->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && expr->type_cast->arg != nullptr &&
      expr->type_cast->arg->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
    // ARRAY[$1, $2]::bigint[]: each element is cast to bigint.
    elementCast = castName(expr->type_cast->type_name);
    if (elementCast.size() < 3 || !elementCast.ends_with("[]")) {
      return {};
    }
    elementCast.resize(elementCast.size() - 2);
    elements = expr->type_cast->arg;
  }

  ValueSet values;
  if (elements->node_case == PG_QUERY__NODE__NODE_A_ARRAY_EXPR) {
    const PgQuery__AArrayExpr* array = elements->a_array_expr;
    for (size_t i = 0; i < array->n_elements; ++i) {
      ValueRef value = valueOf(array->elements[i]);
      if (!value.pinnable()) {
        return {};
      }
      if (!elementCast.empty()) {
        bool fraction = value.source == ValueRef::Source::Constant &&
                        tokens_.constantKind(value.index) == TokenKind::Numeric;
        if (!value.cast.empty() || fraction) {
          return {};
        }
        value.cast = elementCast;
      }
      addValue(values, value);
    }
    return values;
  }
  // A parameter or constant holding a whole array: '{1,2}', $1, $1::bigint[].
  ValueRef value = valueOf(expr);
  if (!value.pinnable()) {
    return {};
  }
  value.array = true;
  values.push_back(std::move(value));
  return values;
}

ValueSet QueryAnalyzer::listValues(const PbNode* list) const {
  ValueSet values;
  if (list == nullptr || list->node_case != PG_QUERY__NODE__NODE_LIST) {
    return values;
  }
  for (size_t i = 0; i < list->list->n_items; ++i) {
    ValueRef value = valueOf(list->list->items[i]);
    if (!value.pinnable()) {
      return {};
    }
    addValue(values, value);
  }
  return values;
}

// Facts.

QueryAnalyzer::Context QueryAnalyzer::context(Level& level, std::vector<int> entries) {
  return Context{&level, std::move(entries), level.contexts++};
}

void QueryAnalyzer::extract(const PbNode* expr, Context& context, FactSet& facts) {
  if (expr == nullptr) {
    return;
  }
  if (expr->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR) {
    const PgQuery__BoolExpr* bool_expr = expr->bool_expr;
    if (bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
      for (size_t i = 0; i < bool_expr->n_args; ++i) {
        extract(bool_expr->args[i], context, facts);
      }
    } else if (bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR) {
      std::vector<FactSet> branches(bool_expr->n_args);
      for (size_t i = 0; i < bool_expr->n_args; ++i) {
        extract(bool_expr->args[i], context, branches[i]);
      }
      // A branch without facts lets any row through: the disjunction pins nothing.
      if (std::none_of(branches.begin(), branches.end(),
                       [](const FactSet& branch) { return branch.empty(); })) {
        facts.disjunctions.push_back(std::move(branches));
      }
    }
    return;
  }
  if (expr->node_case != PG_QUERY__NODE__NODE_A_EXPR) {
    return;
  }
  const PgQuery__AExpr* a = expr->a_expr;
  if (!isEquality(a->name, a->n_name)) {
    return;
  }
  switch (a->kind) {
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP:
      extractEquality(a->lexpr, a->rexpr, context, facts);
      return;
    case PG_QUERY__A__EXPR__KIND__AEXPR_OP_ANY: {
      Operand left = operand(a->lexpr, context, facts);
      ValueSet values = left.node >= 0 ? arrayValues(a->rexpr) : ValueSet();
      if (!values.empty()) {
        facts.pins.emplace_back(left.node, std::move(values));
      }
      return;
    }
    case PG_QUERY__A__EXPR__KIND__AEXPR_IN:
      extractIn(a, context, facts);
      return;
    default:
      return;
  }
}

void QueryAnalyzer::extractEquality(const PbNode* left, const PbNode* right, Context& context,
                                    FactSet& facts) {
  if (left == nullptr || right == nullptr) {
    return;
  }
  // (a, b) = (1, 2) is a = 1 AND b = 2.
  if (left->node_case == PG_QUERY__NODE__NODE_ROW_EXPR &&
      right->node_case == PG_QUERY__NODE__NODE_ROW_EXPR) {
    if (left->row_expr->n_args == right->row_expr->n_args) {
      for (size_t i = 0; i < left->row_expr->n_args; ++i) {
        extractEquality(left->row_expr->args[i], right->row_expr->args[i], context, facts);
      }
    }
    return;
  }
  Operand a = operand(left, context, facts);
  Operand b = operand(right, context, facts);
  if (a.node >= 0 && b.node >= 0) {
    facts.equal.emplace_back(a.node, b.node);
  } else if (a.node >= 0 && !b.values.empty()) {
    facts.pins.emplace_back(a.node, std::move(b.values));
  } else if (b.node >= 0 && !a.values.empty()) {
    facts.pins.emplace_back(b.node, std::move(a.values));
  }
}

void QueryAnalyzer::extractIn(const PgQuery__AExpr* in, Context& context, FactSet& facts) {
  const PbNode* list = in->rexpr;
  if (in->lexpr == nullptr || list == nullptr || list->node_case != PG_QUERY__NODE__NODE_LIST) {
    return;
  }
  // (a, b) IN ((1, 2), (3, 4)) is (a = 1 AND b = 2) OR (a = 3 AND b = 4).
  if (in->lexpr->node_case == PG_QUERY__NODE__NODE_ROW_EXPR) {
    std::vector<FactSet> branches(list->list->n_items);
    for (size_t i = 0; i < list->list->n_items; ++i) {
      extractEquality(in->lexpr, list->list->items[i], context, branches[i]);
      if (branches[i].empty()) {
        return;
      }
    }
    facts.disjunctions.push_back(std::move(branches));
    return;
  }
  Operand left = operand(in->lexpr, context, facts);
  ValueSet values = left.node >= 0 ? listValues(list) : ValueSet();
  if (!values.empty()) {
    facts.pins.emplace_back(left.node, std::move(values));
  }
}

QueryAnalyzer::Operand QueryAnalyzer::operand(const PbNode* expr, Context& context,
                                              FactSet& facts) {
  if (expr == nullptr) {
    return {};
  }
  if (expr->node_case == PG_QUERY__NODE__NODE_COLUMN_REF) {
    return column(expr->column_ref, context, facts);
  }
  ValueRef value = valueOf(expr);
  if (!value.pinnable()) {
    return {};
  }
  return Operand{-1, {std::move(value)}};
}

namespace {

template <typename EntryList>
int findEntry(const EntryList& entries, std::string_view qualifier, std::string_view schema) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    if (entry.refname != qualifier) {
      continue;
    }
    if (!schema.empty() && (entry.aliased || (!entry.schema.empty() && entry.schema != schema))) {
      continue;
    }
    return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

QueryAnalyzer::Operand QueryAnalyzer::column(const PgQuery__ColumnRef* ref, Context& context,
                                             FactSet& facts) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < ref->n_fields; ++i) {
    if (ref->fields[i]->node_case != PG_QUERY__NODE__NODE_STRING) {
      return {};  // table.*
    }
    names.push_back(stringOf(ref->fields[i]));
  }
  if (names.empty()) {
    return {};
  }
  Level& level = *context.level;
  std::string_view name = names.back();

  // Unqualified: the column of whichever entry has it. Naming it on every entry is safe: an
  // entry without the column never matches a real key column, and two with it would make
  // Postgres refuse the statement as ambiguous, unless USING merged them into one value.
  if (names.size() == 1) {
    if (context.entries.size() == 1) {
      return Operand{level.nodes.intern(context.entries[0], name), {}};
    }
    if (context.entries.empty()) {
      return {};
    }
    int merged = level.nodes.intern(-2 - context.id, name);
    for (int entry : context.entries) {
      if (level.entries[entry].table >= 0) {
        facts.equal.emplace_back(merged, level.nodes.intern(entry, name));
      }
    }
    return Operand{merged, {}};
  }

  std::string_view qualifier = names[names.size() - 2];
  std::string_view schema = names.size() >= 3 ? names[names.size() - 3] : std::string_view();
  int entry = findEntry(level.entries, qualifier, schema);
  if (entry >= 0) {
    return Operand{level.nodes.intern(entry, name), {}};
  }
  // An outer reference: a value of the outer row, pinned if the outer level pinned it.
  for (const Level* outer = level.parent; outer != nullptr; outer = outer->parent) {
    int found = findEntry(outer->entries, qualifier, schema);
    if (found < 0) {
      continue;
    }
    int node = outer->nodes.find(found, name);
    if (node >= 0 && static_cast<size_t>(node) < outer->pins.size() && outer->pins[node]) {
      return Operand{-1, *outer->pins[node]};
    }
    return {};
  }
  return {};
}

// Facts of the statement itself.

void QueryAnalyzer::recordSelectFacts(const PgQuery__SelectStmt* select) {
  SelectFacts& facts = out_.select;
  facts.setOperation = select->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
                       select->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED;
  facts.orderBy = select->n_sort_clause > 0;
  facts.limitCount = valueOf(select->limit_count);
  facts.limit = select->limit_count != nullptr &&
                facts.limitCount.source != ValueRef::Source::Null;  // LIMIT ALL
  facts.offset = select->limit_offset != nullptr;
  facts.limitOffset = valueOf(select->limit_offset);
  facts.distinct = select->n_distinct_clause > 0;
  facts.distinctOn = facts.distinct && select->distinct_clause[0] != nullptr &&
                     select->distinct_clause[0]->node_case != PG_QUERY__NODE__NODE__NOT_SET;
  facts.groupBy = select->n_group_clause > 0;
  facts.having = select->having_clause != nullptr;
  scanSelectCalls(select, facts);
}

}  // namespace shardline::sql
