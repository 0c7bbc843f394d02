// Statement analysis: the facts the router routes one SQL statement with. The analyzer parses
// the statement with libpg_query (the Postgres 15 grammar) and reports its kind, whether it can
// write, the tables it touches, and for each table the values its columns are pinned to. It
// knows nothing of the shard map: the router matches these facts against it.
//
// An Analysis depends only on the statement's shape (lexer.h's normalize()): it names the
// constants of an execution by their index in Shape::constants and the parameters by number,
// never by value, so one Analysis serves every statement of the same shape. PlanCache
// (plan_cache.h) keeps them; it is the usual entry point.
//
// Everything here is plain data. analyzeStatement() is pure: any thread may call it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "router/sql/lexer.h"

namespace shardline::sql {

enum class StatementKind : uint8_t {
  Select,       // SELECT, VALUES, TABLE
  Insert,       // INSERT, with or without a WITH clause
  Update,       // UPDATE
  Delete,       // DELETE
  Merge,        // MERGE
  Copy,         // COPY, either direction: see CopyFacts
  Ddl,          // CREATE/ALTER/DROP/TRUNCATE/COMMENT/GRANT/REVOKE/..., SELECT INTO: see DdlFacts
  Transaction,  // BEGIN, COMMIT, SAVEPOINT, PREPARE TRANSACTION, ...: see TransactionFacts
  Set,          // SET, SET LOCAL, SET TRANSACTION: see SettingFacts
  Reset,        // RESET name, RESET ALL
  Show,         // SHOW name, SHOW ALL
  Explain,      // EXPLAIN: see ExplainFacts
  Call,         // CALL procedure(...)
  Do,           // DO $$ ... $$
  Other,        // any other utility statement (LISTEN, PREPARE, VACUUM, LOCK, ...), or an error
};

std::string_view statementKindName(StatementKind kind);

// Where one value of an execution comes from. For a Constant, the router reads the lexer's
// token (Shape::constants[index]): its kind tells a string from a number, and a constant that
// does not convert exactly to the key's type (4.5 for a bigint key) cannot pick a shard.
struct ValueRef {
  enum class Source : uint8_t {
    Constant,    // the constant Shape::constants[index] of this execution
    Parameter,   // the bound parameter $index (1-based)
    Default,     // DEFAULT in a VALUES row
    Null,        // NULL (also LIMIT ALL)
    Expression,  // anything else: known only once the statement runs
  };
  Source source = Source::Expression;
  bool negated = false;  // a Constant written with a minus sign (-5): the value is its negation
  bool array = false;    // from `= ANY(value)`: the value is an array whose elements are the keys
  uint32_t index = 0;    // Constant: index in Shape::constants; Parameter: n of $n
  std::string cast;      // the type of a single cast on the value, as the parser names it
                         // ('42'::bigint gives "int8", $1::bigint[] gives "int8[]"); empty if none

  static ValueRef constant(uint32_t index, bool negated = false);
  static ValueRef parameter(uint32_t number);
  static ValueRef of(Source source);

  bool pinnable() const { return source == Source::Constant || source == Source::Parameter; }
  bool operator==(const ValueRef&) const = default;
};

// "c0", "-c1", "$2", "$1[]", "c0::int8", "default", "null", "expr": for messages and tests.
std::string describe(const ValueRef& value);

// Where in the statement a table is referenced.
enum class Scope : uint8_t {
  Top,       // the statement itself: its FROM, its target, a UNION arm, a DDL or COPY target
  Subquery,  // a subquery in an expression or in FROM, INSERT's SELECT, a query inside DDL
  Cte,       // a WITH query, or anything inside one
};

// The values a statement pins one column of one table reference to: every row of that table
// that the statement reads to produce its result, or writes, has the column equal to one of
// them. A column without a ColumnPin may hold anything.
struct ColumnPin {
  std::string column;            // as the parser gives it: folded to lower case unless quoted
  std::vector<ValueRef> values;  // Constant or Parameter values only, without duplicates
};

struct TableRef {
  std::string schema;    // as written (folded unless quoted); empty when not written
  std::string name;      // folded unless quoted
  std::string alias;     // empty when none
  bool read = false;     // the statement reads rows of it
  bool written = false;  // INSERT/UPDATE/DELETE/MERGE target, COPY FROM target, DDL target
  Scope scope = Scope::Top;
  std::vector<ColumnPin> pins;  // sorted by column

  // The pin of `column`, or null when the column is not pinned.
  const ColumnPin* pin(std::string_view column) const;
};

struct SelectFacts {
  bool orderBy = false;
  bool limit = false;   // LIMIT or FETCH FIRST
  bool offset = false;  // OFFSET
  bool distinct = false;
  bool distinctOn = false;
  bool groupBy = false;
  bool having = false;
  bool aggregates = false;       // an aggregate call outside any subquery
  bool windowFunctions = false;  // a window function call outside any subquery
  bool setOperation = false;     // UNION, INTERSECT or EXCEPT
  ValueRef limitCount;           // LIMIT's value (Null for LIMIT ALL); Expression when absent
  ValueRef limitOffset;          // OFFSET's value; Expression when absent
};

enum class ConflictAction : uint8_t { None, Nothing, Update };

struct InsertFacts {
  std::vector<std::string> columns;         // the column list; empty: all, in table order
  std::vector<std::vector<ValueRef>> rows;  // VALUES rows, each value in column order
  bool fromSelect = false;                  // INSERT ... SELECT (no rows)
  bool defaultValues = false;               // INSERT ... DEFAULT VALUES (no rows)
  ConflictAction onConflict = ConflictAction::None;
  std::vector<std::string> conflictSetColumns;  // the columns ON CONFLICT DO UPDATE SET assigns
};

struct UpdateFacts {
  std::vector<std::string> setColumns;  // the columns SET assigns (MERGE: WHEN ... UPDATE SET)
  bool hasFrom = false;                 // UPDATE ... FROM
};

struct DeleteFacts {
  bool hasUsing = false;  // DELETE ... USING
};

enum class CopyDirection : uint8_t { From, To };
enum class CopyFormat : uint8_t { Text, Csv, Binary };
enum class CopyEndpoint : uint8_t {
  Client,   // FROM STDIN / TO STDOUT: the rows travel over the connection
  File,     // a file on the database server
  Program,  // PROGRAM '...' on the database server
};

struct CopyOption {
  std::string name;   // lower case: "delimiter", "header", "null", "force_quote", ...
  std::string value;  // as given ("," or "true" or "a,b" for a column list); empty if none
};

struct CopyFacts {
  CopyDirection direction = CopyDirection::To;
  CopyFormat format = CopyFormat::Text;
  CopyEndpoint endpoint = CopyEndpoint::Client;
  std::vector<std::string> columns;  // the column list; empty: all, in table order
  bool query = false;                // COPY (query) TO
  bool where = false;                // COPY ... FROM ... WHERE
  std::vector<CopyOption> options;   // every option but FORMAT, in order
};

enum class DdlAction : uint8_t {
  Create,
  Alter,
  Drop,
  Truncate,
  Comment,
  Grant,
  Revoke,
  Rename,
  Refresh,  // REFRESH MATERIALIZED VIEW
  Other,    // SECURITY LABEL, ALTER ... OWNER TO, ...
};

struct DdlFacts {
  DdlAction action = DdlAction::Other;
};

enum class TransactionAction : uint8_t {
  Begin,
  Start,  // START TRANSACTION
  Commit,
  Rollback,
  Savepoint,
  Release,
  RollbackTo,
  Prepare,  // PREPARE TRANSACTION 'gid'
  CommitPrepared,
  RollbackPrepared,
};

enum class AccessMode : uint8_t { Unspecified, ReadOnly, ReadWrite };

// Also filled for SET TRANSACTION and SET SESSION CHARACTERISTICS AS TRANSACTION.
struct TransactionFacts {
  TransactionAction action = TransactionAction::Begin;
  AccessMode access = AccessMode::Unspecified;  // READ ONLY / READ WRITE
  std::string isolation;  // "serializable", "repeatable read", ...; empty when not given
  bool deferrable = false;
  bool chain = false;     // COMMIT AND CHAIN, ROLLBACK AND CHAIN
  std::string savepoint;  // SAVEPOINT, RELEASE, ROLLBACK TO
  ValueRef gid;           // PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED: the constant
};

enum class SettingAction : uint8_t {
  Set,         // SET name = value(s)
  SetDefault,  // SET name TO DEFAULT
  SetCurrent,  // SET name FROM CURRENT
  SetMulti,    // SET TRANSACTION ..., SET SESSION CHARACTERISTICS AS TRANSACTION ...
  Reset,       // RESET name
  ResetAll,    // RESET ALL (name empty)
  Show,        // SHOW name (SHOW ALL: name "all")
};

struct SettingValue {
  ValueRef value;    // a Constant, or Expression when the value is a word or an expression
  std::string word;  // when the value is a key word or identifier (SET x = on): its text
};

struct SettingFacts {
  std::string name;  // "search_path", "shardline.shard", "timezone", "transaction", ...
  SettingAction action = SettingAction::Set;
  bool local = false;  // SET LOCAL
  std::vector<SettingValue> values;
};

struct Analysis;

struct ExplainFacts {
  bool analyze = false;                       // EXPLAIN ANALYZE: the statement runs
  std::shared_ptr<const Analysis> statement;  // the explained statement's facts
};

struct CallFacts {
  std::string schema;  // as written; empty when not written
  std::string name;
};

struct Analysis {
  StatementKind kind = StatementKind::Other;
  std::string node;  // libpg_query's name for the statement node: "SelectStmt", "CreateStmt", ...

  // True only for statements that cannot write or take row locks: SELECT without FOR
  // UPDATE/SHARE, data-modifying WITH or a call to a function known to write or lock;
  // SHOW; EXPLAIN without ANALYZE, or of a read-only statement.
  bool readOnly = false;
  // False when the facts depend on a constant's value (a COPY option, EXPLAIN (ANALYZE 1)),
  // so the Analysis must not serve other statements of the same shape.
  bool cacheable = true;

  std::string error;      // parse error as Postgres words it; empty when the statement parsed
  int errorPosition = 0;  // 1-based character position of the error, 0 when unknown

  std::vector<TableRef> tables;  // every table reference, in order of analysis
  // Index in `tables` of the statement's own table, or -1: the INSERT/UPDATE/DELETE/MERGE
  // target, COPY's table, the first table a DDL statement writes.
  int target = -1;
  bool returning = false;        // RETURNING
  bool locksRows = false;        // FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE anywhere
  bool writingCte = false;       // a WITH query that is INSERT, UPDATE or DELETE
  bool writingFunction = false;  // calls nextval, setval, pg_advisory_lock, ...
  // Functions called that are not known to the router (not in its list of built-ins that
  // write or lock), by name without schema: a read calling one may still write, which only
  // the catalog can tell (a user's volatile function).
  std::vector<std::string> functions;
  uint32_t maxParameter = 0;  // the highest $n referenced

  SelectFacts select;            // kind Select
  InsertFacts insert;            // kind Insert
  UpdateFacts update;            // kind Update, Merge
  DeleteFacts del;               // kind Delete
  CopyFacts copy;                // kind Copy
  DdlFacts ddl;                  // kind Ddl
  TransactionFacts transaction;  // kind Transaction; Set for SET TRANSACTION
  SettingFacts setting;          // kind Set, Reset, Show
  ExplainFacts explain;          // kind Explain
  CallFacts call;                // kind Call

  bool ok() const { return error.empty(); }
};

// Analyzes one statement.
// Requires: lexed == lex(sql) without error, shape == normalize(lexed), and `sql` holds one
// statement (a trailing ';' is fine).
Analysis analyzeStatement(std::string_view sql, const LexResult& lexed, const Shape& shape);

// The 1-based character position (UTF-8) of byte `offset` in `sql`, as Postgres reports
// error positions.
int characterPosition(std::string_view sql, uint32_t offset);

}  // namespace shardline::sql
