// Statement-kind facts: SELECT merges, EXPLAIN, COPY, DDL, transactions, settings.
#include "tests/unit/router/sql/analyzer_test_helpers.h"

using namespace analyzer_test;

TEST_SUITE("analyzer: SELECT facts for merging") {
  TEST_CASE("ORDER BY, LIMIT, OFFSET, GROUP BY, HAVING, aggregates") {
    Analysis a =
        ok("SELECT user_id, count(*), max(total) FROM orders GROUP BY user_id "
           "HAVING sum(total) > 1 ORDER BY 2 DESC LIMIT 10 OFFSET $1");
    const SelectFacts& s = a.select;
    CHECK(s.orderBy);
    CHECK(s.limit);
    CHECK(describe(s.limitCount) == "c2");  // after 1 and 2
    CHECK(s.offset);
    CHECK(describe(s.limitOffset) == "$1");
    CHECK(s.groupBy);
    CHECK(s.having);
    CHECK(s.aggregates);
    CHECK_FALSE(s.windowFunctions);
    CHECK_FALSE(s.distinct);
    CHECK_FALSE(s.setOperation);
  }

  TEST_CASE("DISTINCT, DISTINCT ON, window functions, LIMIT ALL") {
    Analysis distinct = ok("SELECT DISTINCT user_id, row_number() OVER () FROM orders LIMIT ALL");
    CHECK(distinct.select.distinct);
    CHECK_FALSE(distinct.select.distinctOn);
    CHECK(distinct.select.windowFunctions);
    CHECK_FALSE(distinct.select.aggregates);
    CHECK_FALSE(distinct.select.limit);
    CHECK(distinct.select.limitCount.source == ValueRef::Source::Null);
    Analysis on = ok("SELECT DISTINCT ON (user_id) * FROM orders");
    CHECK(on.select.distinctOn);
  }

  TEST_CASE("an aggregate inside a subquery is not the statement's") {
    Analysis a = ok("SELECT * FROM users WHERE user_id IN (SELECT max(user_id) FROM orders)");
    CHECK_FALSE(a.select.aggregates);
  }

  TEST_CASE("VALUES alone is a SELECT without tables") {
    Analysis a = ok("VALUES (1), (2)");
    CHECK(a.kind == StatementKind::Select);
    CHECK(a.tables.empty());
    CHECK(a.readOnly);
  }
}

TEST_SUITE("analyzer: EXPLAIN") {
  TEST_CASE("EXPLAIN without ANALYZE is read-only, whatever it explains") {
    Analysis a = ok("EXPLAIN DELETE FROM users WHERE user_id = 1");
    CHECK(a.kind == StatementKind::Explain);
    CHECK(a.readOnly);
    CHECK_FALSE(a.explain.analyze);
    REQUIRE(a.explain.statement != nullptr);
    CHECK(a.explain.statement->kind == StatementKind::Delete);
    CHECK(tables(a) == "users rw top");
    CHECK(pin(a, "users", "user_id") == "c0");
  }

  TEST_CASE("EXPLAIN ANALYZE of a write is a write") {
    Analysis a = ok("EXPLAIN ANALYZE UPDATE users SET name = 'x' WHERE user_id = 1");
    CHECK(a.explain.analyze);
    CHECK_FALSE(a.readOnly);
    CHECK(ok("EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM users").readOnly);
    CHECK_FALSE(ok("EXPLAIN (ANALYZE true) SELECT nextval('s')").readOnly);
    CHECK_FALSE(ok("EXPLAIN (ANALYZE off) SELECT 1").explain.analyze);
  }

  TEST_CASE("EXPLAIN (ANALYZE 1) depends on a constant's value: not cacheable") {
    Analysis a = ok("EXPLAIN (ANALYZE 1) DELETE FROM users");
    CHECK(a.explain.analyze);
    CHECK_FALSE(a.cacheable);
    CHECK(ok("EXPLAIN (ANALYZE on) DELETE FROM users").cacheable);
  }
}

TEST_SUITE("analyzer: COPY") {
  TEST_CASE("K4: COPY FROM STDIN in CSV") {
    Analysis a = ok("COPY users FROM STDIN (FORMAT csv)");
    CHECK(a.kind == StatementKind::Copy);
    CHECK(a.copy.direction == CopyDirection::From);
    CHECK(a.copy.format == CopyFormat::Csv);
    CHECK(a.copy.endpoint == CopyEndpoint::Client);
    CHECK(tables(a) == "users w top");
    CHECK(a.target == 0);
    CHECK(a.cacheable);
  }

  TEST_CASE("COPY with a column list and the old option syntax") {
    Analysis a = ok("COPY users (user_id, name) FROM STDIN WITH CSV HEADER DELIMITER AS ';'");
    CHECK(joined(a.copy.columns) == "user_id,name");
    CHECK(a.copy.format == CopyFormat::Csv);
    REQUIRE(a.copy.options.size() == 2);
    CHECK(a.copy.options[0].name == "header");
    CHECK(a.copy.options[0].value == "true");
    CHECK(a.copy.options[1].name == "delimiter");
    CHECK(a.copy.options[1].value == ";");
    CHECK_FALSE(a.cacheable);  // the delimiter is a constant
  }

  TEST_CASE("COPY TO STDOUT in binary, and of a query") {
    Analysis binary = ok("COPY users TO STDOUT (FORMAT binary)");
    CHECK(binary.copy.direction == CopyDirection::To);
    CHECK(binary.copy.format == CopyFormat::Binary);
    CHECK(tables(binary) == "users r top");

    Analysis query = ok(
        "COPY (SELECT * FROM users WHERE user_id = 5) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)");
    CHECK(query.copy.query);
    CHECK(query.copy.format == CopyFormat::Csv);
    CHECK(tables(query) == "users r top");
    CHECK(pin(query, "users", "user_id") == "c0");
    REQUIRE(query.copy.options.size() == 1);
    CHECK(query.copy.options[0].value == "*");
  }

  TEST_CASE("COPY to a server file or program") {
    CHECK(ok("COPY users FROM '/tmp/u.csv'").copy.endpoint == CopyEndpoint::File);
    Analysis program = ok("COPY users TO PROGRAM 'gzip > /tmp/u.gz'");
    CHECK(program.copy.endpoint == CopyEndpoint::Program);
    CHECK(program.copy.format == CopyFormat::Text);
  }
}

TEST_SUITE("analyzer: DDL") {
  TEST_CASE("CREATE TABLE writes the table and reads a foreign key's table") {
    Analysis a = ok("CREATE TABLE users (user_id bigint PRIMARY KEY, org bigint REFERENCES orgs)");
    CHECK(a.kind == StatementKind::Ddl);
    CHECK(a.ddl.action == DdlAction::Create);
    CHECK(tables(a) == "users w top; orgs r top");
    CHECK(a.target == 0);
  }

  TEST_CASE("ALTER, DROP, TRUNCATE, CREATE INDEX, COMMENT") {
    Analysis alter = ok("ALTER TABLE app.users ADD COLUMN age int");
    CHECK(alter.ddl.action == DdlAction::Alter);
    CHECK(tables(alter) == "app.users w top");

    Analysis drop = ok("DROP TABLE users, s.orders CASCADE");
    CHECK(drop.ddl.action == DdlAction::Drop);
    CHECK(tables(drop) == "users w top; s.orders w top");
    CHECK(ok("DROP INDEX users_name").tables.empty());

    Analysis truncate = ok("TRUNCATE users, orders");
    CHECK(truncate.ddl.action == DdlAction::Truncate);
    CHECK(tables(truncate) == "users w top; orders w top");

    Analysis index = ok("CREATE INDEX users_name ON users (name)");
    CHECK(index.node == "IndexStmt");
    CHECK(tables(index) == "users w top");

    CHECK(tables(ok("COMMENT ON COLUMN s.users.name IS 'n'")) == "s.users w top");
    CHECK(ok("COMMENT ON TABLE users IS 'people'").ddl.action == DdlAction::Comment);
  }

  TEST_CASE("GRANT and REVOKE") {
    Analysis grant = ok("GRANT SELECT ON users, orders TO app");
    CHECK(grant.ddl.action == DdlAction::Grant);
    CHECK(tables(grant) == "users w top; orders w top");
    Analysis revoke = ok("REVOKE ALL ON SEQUENCE s FROM app");
    CHECK(revoke.ddl.action == DdlAction::Revoke);
    CHECK(revoke.tables.empty());
  }

  TEST_CASE("CREATE TABLE AS, SELECT INTO and CREATE VIEW read their query") {
    Analysis as = ok("CREATE TABLE big AS SELECT * FROM users WHERE user_id = 3");
    CHECK(tables(as) == "users r sub; big w top");
    CHECK(as.target == 1);
    CHECK(pin(as, "users", "user_id") == "c0");

    Analysis into = ok("SELECT * INTO copy_of_users FROM users");
    CHECK(into.kind == StatementKind::Ddl);
    CHECK_FALSE(into.readOnly);
    CHECK(tables(into) == "users r top; copy_of_users w top");

    CHECK(tables(ok("CREATE VIEW v AS SELECT * FROM users")) == "v w top; users r sub");
  }

  TEST_CASE("DDL without tables, and server-wide statements") {
    CHECK(ok("CREATE SEQUENCE s").kind == StatementKind::Ddl);
    CHECK(ok("CREATE SEQUENCE s").tables.empty());
    CHECK(ok("ALTER INDEX i RENAME TO j").tables.empty());
    CHECK(ok("CREATE SCHEMA app").ddl.action == DdlAction::Create);
    CHECK(ok("CREATE DATABASE x").kind == StatementKind::Other);
  }
}

TEST_SUITE("analyzer: transactions") {
  TEST_CASE("BEGIN, BEGIN READ ONLY, START TRANSACTION with options") {
    Analysis begin = ok("BEGIN");
    CHECK(begin.kind == StatementKind::Transaction);
    CHECK(begin.transaction.action == TransactionAction::Begin);
    CHECK(begin.transaction.access == AccessMode::Unspecified);

    CHECK(ok("BEGIN READ ONLY").transaction.access == AccessMode::ReadOnly);

    Analysis start =
        ok("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ WRITE, DEFERRABLE");
    CHECK(start.transaction.action == TransactionAction::Start);
    CHECK(start.transaction.access == AccessMode::ReadWrite);
    CHECK(start.transaction.isolation == "repeatable read");
    CHECK(start.transaction.deferrable);
  }

  TEST_CASE("COMMIT, END, ROLLBACK, ABORT, AND CHAIN") {
    CHECK(ok("COMMIT").transaction.action == TransactionAction::Commit);
    CHECK(ok("END").transaction.action == TransactionAction::Commit);
    CHECK(ok("ABORT").transaction.action == TransactionAction::Rollback);
    Analysis chain = ok("ROLLBACK AND CHAIN");
    CHECK(chain.transaction.action == TransactionAction::Rollback);
    CHECK(chain.transaction.chain);
  }

  TEST_CASE("savepoints") {
    Analysis savepoint = ok("SAVEPOINT sp1");
    CHECK(savepoint.transaction.action == TransactionAction::Savepoint);
    CHECK(savepoint.transaction.savepoint == "sp1");
    CHECK(ok("RELEASE SAVEPOINT sp1").transaction.action == TransactionAction::Release);
    Analysis back = ok("ROLLBACK TO SAVEPOINT \"Sp2\"");
    CHECK(back.transaction.action == TransactionAction::RollbackTo);
    CHECK(back.transaction.savepoint == "Sp2");
  }

  TEST_CASE("two-phase commit statements name their gid by constant") {
    Analysis prepare = ok("PREPARE TRANSACTION 'g1'");
    CHECK(prepare.transaction.action == TransactionAction::Prepare);
    CHECK(describe(prepare.transaction.gid) == "c0");
    CHECK(ok("COMMIT PREPARED 'g1'").transaction.action == TransactionAction::CommitPrepared);
    CHECK(ok("ROLLBACK PREPARED 'g1'").transaction.action == TransactionAction::RollbackPrepared);
  }
}

TEST_SUITE("analyzer: settings") {
  TEST_CASE("SET shardline.shard = 's1' names the constant") {
    Analysis a = ok("SET shardline.shard = 's1'");
    CHECK(a.kind == StatementKind::Set);
    CHECK(a.setting.name == "shardline.shard");
    CHECK(a.setting.action == SettingAction::Set);
    CHECK_FALSE(a.setting.local);
    REQUIRE(a.setting.values.size() == 1);
    CHECK(describe(a.setting.values[0].value) == "c0");
  }

  TEST_CASE("SET LOCAL shardline.key TO a negative number") {
    Analysis a = ok("SET LOCAL shardline.key TO -42");
    CHECK(a.setting.local);
    REQUIRE(a.setting.values.size() == 1);
    CHECK(describe(a.setting.values[0].value) == "-c0");
  }

  TEST_CASE("SET to words, lists, DEFAULT; RESET; SHOW") {
    Analysis words = ok("SET search_path = public, \"App\"");
    REQUIRE(words.setting.values.size() == 2);
    CHECK(words.setting.values[0].word == "public");
    CHECK(words.setting.values[1].word == "App");
    CHECK(words.setting.values[0].value.source == ValueRef::Source::Expression);

    CHECK(ok("SET x TO DEFAULT").setting.action == SettingAction::SetDefault);
    CHECK(ok("SET TIME ZONE 'UTC'").setting.name == "timezone");
    CHECK(ok("SET ROLE admin").setting.values.at(0).word == "admin");

    Analysis reset = ok("RESET shardline.shard");
    CHECK(reset.kind == StatementKind::Reset);
    CHECK(reset.setting.action == SettingAction::Reset);
    CHECK(reset.setting.name == "shardline.shard");
    CHECK(ok("RESET ALL").setting.action == SettingAction::ResetAll);

    Analysis show = ok("SHOW shardline.shard");
    CHECK(show.kind == StatementKind::Show);
    CHECK(show.setting.name == "shardline.shard");
    CHECK(ok("SHOW ALL").setting.name == "all");
  }

  TEST_CASE("SET TRANSACTION fills the transaction options") {
    Analysis a = ok("SET TRANSACTION READ ONLY");
    CHECK(a.kind == StatementKind::Set);
    CHECK(a.setting.action == SettingAction::SetMulti);
    CHECK(a.setting.name == "transaction");
    CHECK(a.transaction.access == AccessMode::ReadOnly);
  }
}

TEST_SUITE("analyzer: other statements and errors") {
  TEST_CASE("CALL and DO") {
    Analysis call = ok("CALL app.refresh(1, $1)");
    CHECK(call.kind == StatementKind::Call);
    CHECK(call.call.schema == "app");
    CHECK(call.call.name == "refresh");
    CHECK(call.maxParameter == 1);
    CHECK(ok("DO $$ BEGIN NULL; END $$").kind == StatementKind::Do);
  }

  TEST_CASE("other utility statements keep their node name and tables") {
    CHECK(ok("LISTEN ch").node == "ListenStmt");
    Analysis lock = ok("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
    CHECK(lock.kind == StatementKind::Other);
    CHECK(tables(lock) == "users r top");
    Analysis cursor = ok("DECLARE c CURSOR FOR SELECT * FROM users WHERE user_id = 2");
    CHECK(tables(cursor) == "users r sub");
    CHECK(pin(cursor, "users", "user_id") == "c0");
  }

  TEST_CASE("a parse error gives Postgres' message and position") {
    Analysis a = analyzed("SELECT * FROM users WHERE");
    CHECK_FALSE(a.ok());
    CHECK(a.error == "syntax error at end of input");
    CHECK(a.errorPosition == 26);
    CHECK_FALSE(a.cacheable);
    Analysis typo = analyzed("SELEC 1");
    CHECK(typo.error == "syntax error at or near \"SELEC\"");
    CHECK(typo.errorPosition == 1);
  }

  TEST_CASE("one statement at a time") {
    Analysis a = analyzed("SELECT 1; SELECT 2");
    CHECK_FALSE(a.ok());
    CHECK(ok("SELECT 1;").kind == StatementKind::Select);
  }

  TEST_CASE("character positions count UTF-8 characters") {
    CHECK(characterPosition("SELECT 'é', x", 12) == 12);
    CHECK(characterPosition("abc", 0) == 1);
  }
}
