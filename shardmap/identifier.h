// Postgres identifiers as the shard map writes them: table, schema and column names.
//
// Names in the map are kept as Postgres resolves them: an unquoted identifier folded to lower
// case (ASCII letters only, as Postgres folds under a UTF-8 server encoding), a double-quoted
// one exactly as written, and either one cut to 63 bytes (NAMEDATALEN - 1) on a character
// boundary. Two names are then the same exactly when their bytes are equal.
//
// Pure functions and plain values; any thread may use them.
#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>

#include "shardmap/result.h"

namespace shardline::shardmap {

constexpr size_t kMaxIdentifierBytes = 63;
constexpr std::string_view kDefaultSchema = "public";

// A schema-qualified table name, both parts as Postgres resolved them.
struct QualifiedName {
  std::string schema;
  std::string name;

  auto operator<=>(const QualifiedName&) const = default;

  // As SQL would write it: "public.users", "app.\"Users\"".
  std::string toString() const;
};

// Postgres' folding of an unquoted identifier: ASCII upper case to lower case, other bytes kept.
std::string foldIdentifier(std::string_view text);

// `text` cut to kMaxIdentifierBytes without splitting a UTF-8 character, as Postgres cuts.
std::string_view truncateIdentifier(std::string_view text);

// `name` as SQL writes it: bare when Postgres would read it back unchanged, else double-quoted.
// Keywords are not recognised, so a keyword comes back bare.
std::string quoteIdentifier(std::string_view name);

// One identifier written as in SQL: `User_ID` (folded to user_id) or `"User_ID"` (kept).
// Spaces around it are ignored. The error says what is wrong, without naming the input.
Result<std::string> parseIdentifier(std::string_view text);

// "name" or "schema.name", each part as parseIdentifier reads it; an unqualified name gets
// `defaultSchema`.
Result<QualifiedName> parseQualifiedName(std::string_view text,
                                         std::string_view defaultSchema = kDefaultSchema);

}  // namespace shardline::shardmap
