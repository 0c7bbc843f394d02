// The part of the statement analyzer that reads queries: SELECT, INSERT, UPDATE, DELETE and
// MERGE, with their WITH queries, joins and subqueries. It records every table reference in
// an Analysis and pins each table's columns from the equalities of WHERE, JOIN ... ON and
// USING (pin_solver.h). Internal to router/sql.
//
// Each SELECT (and each UPDATE, DELETE, ...) is a "level" with its own range entries. Pins
// are derived per level, then the level's subqueries are read; a subquery may use its outer
// levels' pins through a correlated equality (o.user_id = u.user_id).
//
// Outer joins: WHERE and the ON clauses of inner joins outside any nullable side restrict
// every table of the level. The ON clause of a LEFT JOIN (and the inner joins inside its
// nullable side) restricts only the nullable side, given what is known of the rest.
//
// An instance serves one statement on one thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/sql/analyzer.h"
#include "router/sql/parse_tree.h"
#include "router/sql/pin_solver.h"

namespace shardline::sql {

// Maps parse tree locations (byte offsets) to the lexer's tokens and constants.
class TokenIndex {
 public:
  TokenIndex(const LexResult& lexed, const Shape& shape) : lexed_(lexed), shape_(shape) {}

  // The index in lexed.tokens of the token starting at `offset`, or -1.
  int tokenAt(int offset) const;
  const Token& token(int index) const { return lexed_.tokens[index]; }
  int tokenCount() const { return static_cast<int>(lexed_.tokens.size()); }
  // True for the token kinds normalize() turns into constants.
  bool isConstant(int index) const;
  // The constant an A_Const at `location` was read from, a leading '-' or '+' folded in;
  // Expression when the location holds no constant (a key word such as TRUE or ON).
  ValueRef constantAt(int location) const;
  // The kind of the constant Shape::constants[index].
  TokenKind constantKind(uint32_t index) const { return shape_.constants[index].kind; }
  size_t constantCount() const { return shape_.constants.size(); }

 private:
  const LexResult& lexed_;
  const Shape& shape_;
};

enum class Access : uint8_t { Read, Write, ReadWrite };

class QueryAnalyzer {
 public:
  // Whether a query is the statement itself, whose facts (InsertFacts, ...) are recorded, or
  // a query inside another statement, of which only tables and pins are.
  enum class Role : uint8_t { Statement, Nested };

  QueryAnalyzer(const TokenIndex& tokens, Analysis& out) : tokens_(tokens), out_(out) {}

  // Reads a SelectStmt, InsertStmt, UpdateStmt, DeleteStmt or MergeStmt; other nodes are
  // searched for the queries they hold (CREATE VIEW ... AS SELECT).
  void analyze(const PbNode* statement, Scope scope, Role role);

  // Reads a utility statement (DDL, LOCK, ...): every query inside it, with `queryScope`, and
  // every relation it names (scope Top): written when in `written`, left out when in
  // `notTables` (an index or sequence), else read.
  void analyzeUtility(const ProtobufCMessage* statement,
                      const std::vector<const PgQuery__RangeVar*>& written,
                      const std::vector<const PgQuery__RangeVar*>& notTables, Scope queryScope);

  // The number of constants in the statement's shape.
  size_t constantCount() const { return tokens_.constantCount(); }

  // Appends a table reference and returns its index in Analysis::tables.
  int addTable(const PgQuery__RangeVar* relation, Scope scope, Access access);

  // The value an expression is, when it is a constant, parameter, DEFAULT or NULL, alone or
  // under one cast; Expression otherwise.
  ValueRef valueOf(const PbNode* expr) const;

 private:
  // The WITH query names a query can see, innermost first.
  struct CteScope {
    const CteScope* outer = nullptr;
    std::vector<std::string> names;

    bool contains(std::string_view name) const;
  };

  // One item of a level's FROM (or an UPDATE/DELETE/MERGE target) that columns can name.
  struct Entry {
    std::string refname;  // the alias, else the relation's name
    std::string schema;   // an unaliased table's schema, as written
    bool aliased = false;
    int table = -1;  // index in Analysis::tables; -1 for a subquery, function, WITH query, ...
  };

  // Join owners: the outer join whose nullable side holds a join, or one of these.
  static constexpr int kSpine = -1;         // on no nullable side: restricts the whole level
  static constexpr int kUnrestricted = -2;  // inside a FULL JOIN: restricts nothing

  struct Join {
    const PgQuery__JoinExpr* expr = nullptr;
    std::vector<int> left;   // entries of the left side
    std::vector<int> right;  // entries of the right side
    int owner = kSpine;
  };

  // A query whose pins are solved before the queries inside it are read.
  struct Level {
    Level(const Level* parentLevel, Scope levelScope, const CteScope* visible)
        : parent(parentLevel), scope(levelScope), ctes(visible) {}

    const Level* parent;
    Scope scope;
    const CteScope* ctes;
    std::vector<Entry> entries;
    std::vector<Join> joins;
    ColumnNodes nodes;
    FactSet facts;                    // WHERE, and inner joins on the spine
    std::vector<FactSet> outerFacts;  // per LEFT/RIGHT join: its ON and its nullable side's
    PinMap pins;                      // solved
    int contexts = 0;                 // contexts handed out, for unqualified columns
    // Queries inside this one, each with the level its outer references resolve in.
    std::vector<std::pair<const ProtobufCMessage*, const Level*>> children;
  };

  // Where an expression's unqualified columns resolve: among `entries` of `level`.
  struct Context {
    Level* level = nullptr;
    std::vector<int> entries;
    int id = 0;
  };

  // One side of an equality: a column node of the level, or values.
  struct Operand {
    int node = -1;
    ValueSet values;
  };

  void analyzeMessage(const ProtobufCMessage* message, const Level* parent, Scope scope,
                      const CteScope* ctes, Role role);
  void analyzeSelect(const PgQuery__SelectStmt* select, const Level* parent, Scope scope,
                     const CteScope* ctes, Role role);
  void analyzeInsert(const PgQuery__InsertStmt* insert, const Level* parent, Scope scope,
                     const CteScope* ctes, Role role);
  void analyzeUpdate(const PgQuery__UpdateStmt* update, const Level* parent, Scope scope,
                     const CteScope* ctes, Role role);
  void analyzeDelete(const PgQuery__DeleteStmt* del, const Level* parent, Scope scope,
                     const CteScope* ctes, Role role);
  void analyzeMerge(const PgQuery__MergeStmt* merge, const Level* parent, Scope scope,
                    const CteScope* ctes, Role role);
  CteScope analyzeWith(const PgQuery__WithClause* with, const Level* parent, const CteScope* ctes);

  // Range entries and joins.
  int addTarget(Level& level, const PgQuery__RangeVar* relation, Access access);
  int addRelation(Level& level, const PgQuery__RangeVar* relation);
  std::vector<int> addFromItem(Level& level, const PbNode* item, int owner);
  std::vector<int> addJoin(Level& level, const PgQuery__JoinExpr* join, int owner);
  int addEntry(Level& level, std::string refname, int table);
  void addJoinFacts(Level& level);
  void collectQueries(Level& level, const PbNode* expr);
  void finish(Level& level);
  void solve(Level& level);
  void recordPins(const Level& level);

  // Facts (query_analyzer_facts.cc).
  Context context(Level& level, std::vector<int> entries);
  void extract(const PbNode* expr, Context& context, FactSet& facts);
  void extractEquality(const PbNode* left, const PbNode* right, Context& context, FactSet& facts);
  void extractIn(const PgQuery__AExpr* in, Context& context, FactSet& facts);
  Operand operand(const PbNode* expr, Context& context, FactSet& facts);
  Operand column(const PgQuery__ColumnRef* ref, Context& context, FactSet& facts);
  ValueSet arrayValues(const PbNode* expr) const;
  ValueSet listValues(const PbNode* list) const;

  // Facts of the statement itself.
  void recordSelectFacts(const PgQuery__SelectStmt* select);
  void pinInsertedRows(int target, const InsertFacts& facts);

  const TokenIndex& tokens_;
  Analysis& out_;
};

// The scope of a query inside a query of scope `outer`.
inline Scope innerScope(Scope outer) {
  return outer == Scope::Top ? Scope::Subquery : outer;
}

}  // namespace shardline::sql
