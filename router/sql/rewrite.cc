#include "router/sql/rewrite.h"

#include <algorithm>
#include <map>

#include "router/sql/parse_tree.h"

namespace shardline::sql {

namespace {

// Every ParamRef of the tree below `node`.
std::vector<PgQuery__ParamRef*> parameterRefs(PbNode* node) {
  std::vector<PgQuery__ParamRef*> out;
  walk(node, [&out](const ProtobufCMessage* message) {
    if (is(message, pg_query__param_ref__descriptor)) {
      // The tree is ours to change; walk() only hands out const views.
      out.push_back(
          const_cast<PgQuery__ParamRef*>(reinterpret_cast<const PgQuery__ParamRef*>(message)));
    }
    return true;
  });
  return out;
}

}  // namespace

std::optional<InsertSlice> sliceInsertRows(std::string_view sql, const std::vector<size_t>& rows,
                                           std::string& error) {
  ParseTree tree(sql);
  if (!tree.ok() || tree.statementCount() != 1) {
    error = tree.ok() ? "not one statement" : tree.error();
    return std::nullopt;
  }
  PbNode* statement = tree.mutableStatement(0);
  if (statement->node_case != PG_QUERY__NODE__NODE_INSERT_STMT) {
    error = "not an INSERT";
    return std::nullopt;
  }
  PgQuery__InsertStmt* insert = statement->insert_stmt;
  PbNode* source = insert->select_stmt;
  if (source == nullptr || source->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
      source->select_stmt->n_values_lists == 0) {
    error = "not an INSERT ... VALUES";
    return std::nullopt;
  }
  PgQuery__SelectStmt* values = source->select_stmt;
  size_t total = values->n_values_lists;
  if (rows.empty() || rows.back() >= total || !std::is_sorted(rows.begin(), rows.end())) {
    error = "row out of range";
    return std::nullopt;
  }

  // The kept rows move to the front; the others stay in the array past the new count so that
  // the tree still owns, and frees, every row.
  std::vector<PbNode*> reordered;
  std::vector<bool> kept(total, false);
  for (size_t row : rows) {
    kept[row] = true;
    reordered.push_back(values->values_lists[row]);
  }
  for (size_t row = 0; row < total; ++row) {
    if (!kept[row]) {
      reordered.push_back(values->values_lists[row]);
    }
  }
  std::copy(reordered.begin(), reordered.end(), values->values_lists);
  values->n_values_lists = rows.size();

  // Parameters are renumbered in their original order so that $1..$n has no gaps: Postgres
  // refuses a parameter it cannot type.
  InsertSlice slice;
  std::vector<PgQuery__ParamRef*> refs = parameterRefs(statement);
  std::map<int32_t, uint32_t> renumbered;
  for (const PgQuery__ParamRef* ref : refs) {
    renumbered.emplace(ref->number, 0);
  }
  for (auto& [number, next] : renumbered) {
    slice.parameters.push_back(uint32_t(number));
    next = uint32_t(slice.parameters.size());
  }
  for (PgQuery__ParamRef* ref : refs) {
    ref->number = int32_t(renumbered[ref->number]);
  }

  std::optional<std::string> text = tree.deparse(error);
  values->n_values_lists = total;
  if (!text) {
    return std::nullopt;
  }
  slice.sql = std::move(*text);
  return slice;
}

}  // namespace shardline::sql
