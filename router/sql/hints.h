// Routing hints written in SQL comments:
//   /* shardline: shard=s1 */ SELECT ...
//   /* shardline: key=42, role=primary */ UPDATE ...
//   -- shardline: role=replica
// A comment is a hint when its text starts with "shardline:" (any case, after blanks); the
// rest is key=value pairs separated by blanks or commas. A value may be quoted with ' or "
// (a doubled quote inside stands for one). Keys are folded to lower case; values are kept.
//
// Comments are not part of a statement's shape, so hints are read for every execution, apart
// from the cached Analysis. Pure functions: any thread may call them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "router/sql/lexer.h"

namespace shardline::sql {

struct Hint {
  std::string key;    // "shard", "key", "role", ...
  std::string value;  // "s1", "42", "primary", ...
};

struct Hints {
  std::vector<Hint> items;  // in order of appearance
  std::string error;        // the first malformed hint comment, described; empty if none

  // The value of the first hint with `key`, or null.
  const std::string* find(std::string_view key) const;
  bool empty() const { return items.empty() && error.empty(); }
};

// Reads the hints of every comment in `sql`. Cheap when no comment mentions shardline.
Hints parseHints(std::string_view sql, ConformingStrings strings = ConformingStrings::On);

}  // namespace shardline::sql
