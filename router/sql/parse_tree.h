// The statement analyzer's view of libpg_query's protobuf parse tree: an owner for the
// unpacked tree, and small helpers to read and walk its nodes. Internal to router/sql.
//
// libpg_query keeps its parser state per thread, so any thread may parse; a ParseTree and
// the nodes it owns belong to the thread that made it.
#pragma once

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace shardline::sql {

using PbNode = PgQuery__Node;

class ParseTree {
 public:
  // Parses `sql`, which must hold no NUL byte.
  explicit ParseTree(std::string_view sql);
  ~ParseTree();
  ParseTree(const ParseTree&) = delete;
  ParseTree& operator=(const ParseTree&) = delete;

  bool ok() const { return tree_ != nullptr; }
  const std::string& error() const { return error_; }
  int errorPosition() const { return errorPosition_; }  // 1-based characters, 0 if unknown

  // The parsed statements. Requires: ok().
  size_t statementCount() const { return tree_->n_stmts; }
  const PbNode* statement(size_t i) const { return tree_->stmts[i]->stmt; }
  PbNode* mutableStatement(size_t i) { return tree_->stmts[i]->stmt; }

  // The tree as SQL again (libpg_query's deparser); nullopt with `error` set when it fails.
  // Requires: ok().
  std::optional<std::string> deparse(std::string& error) const;

 private:
  PgQueryProtobufParseResult raw_{};
  PgQuery__ParseResult* tree_ = nullptr;
  std::string error_;
  int errorPosition_ = 0;
};

// The message a Node holds, or null for an empty Node.
const ProtobufCMessage* unwrap(const PbNode* node);

// The protobuf short name of what `node` holds ("SelectStmt"); "" for an empty node.
std::string_view nodeName(const PbNode* node);

// The string of a String node; "" for anything else or null.
std::string_view stringOf(const PbNode* node);

// The strings of a list of String nodes joined with `separator`.
std::string joinStrings(PbNode* const* items, size_t count, std::string_view separator);

// The last name of a qualified name list (["pg_catalog", "int8"] gives "int8"); "" if none.
std::string_view lastName(PbNode* const* items, size_t count);

// Calls `visit` for `message` and, while `visit` returns true, for every message below it,
// depth first in field order. Node wrappers are skipped: `visit` sees what they hold.
using MessageVisitor = std::function<bool(const ProtobufCMessage*)>;
void walk(const ProtobufCMessage* message, const MessageVisitor& visit);
void walk(const PbNode* node, const MessageVisitor& visit);

// True when `message` is a `T`, given T's descriptor.
inline bool is(const ProtobufCMessage* message, const ProtobufCMessageDescriptor& descriptor) {
  return message != nullptr && message->descriptor == &descriptor;
}

}  // namespace shardline::sql
