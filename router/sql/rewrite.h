// Statement rewrites through the parse tree: the statement is parsed with libpg_query, the
// tree changed, and the SQL rebuilt by libpg_query's deparser. The router never builds SQL by
// pasting strings.
//
// Pure functions; any thread may call them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shardline::sql {

// An INSERT ... VALUES cut down to some of its rows.
struct InsertSlice {
  std::string sql;
  // The parameters the slice still uses, renumbered without gaps: the slice's $1 is the
  // original's $parameters[0], and so on. Parameters outside the rows (ON CONFLICT, RETURNING)
  // are kept too.
  std::vector<uint32_t> parameters;
};

// Keeps the VALUES rows whose 0-based indexes are listed (ascending). nullopt with `error`
// set when `sql` is not one INSERT ... VALUES or a row index is out of range.
std::optional<InsertSlice> sliceInsertRows(std::string_view sql, const std::vector<size_t>& rows,
                                           std::string& error);

}  // namespace shardline::sql
