#include "tests/unit/router/sql/analyzer_test_helpers.h"

using namespace analyzer_test;

TEST_SUITE("analyzer: shard routing cases") {
  TEST_CASE("K1: multi-row INSERT with literals pins each row's key") {
    Analysis a = ok("INSERT INTO users (user_id, name) VALUES (123, 'a'), (456, 'b')");
    CHECK(a.kind == StatementKind::Insert);
    CHECK_FALSE(a.readOnly);
    CHECK(tables(a) == "users w top");
    CHECK(a.target == 0);
    CHECK(joined(a.insert.columns) == "user_id,name");
    REQUIRE(a.insert.rows.size() == 2);
    CHECK(values(a.insert.rows[0]) == "c0,c1");
    CHECK(values(a.insert.rows[1]) == "c2,c3");
    CHECK(pin(a, "users", "user_id") == "c0,c2");
  }

  TEST_CASE("K1: multi-row INSERT with parameters") {
    Analysis a = ok("INSERT INTO users (user_id, name) VALUES ($1, $2), ($3, $4)");
    REQUIRE(a.insert.rows.size() == 2);
    CHECK(values(a.insert.rows[0]) == "$1,$2");
    CHECK(values(a.insert.rows[1]) == "$3,$4");
    CHECK(pin(a, "users", "user_id") == "$1,$3");
    CHECK(a.maxParameter == 4);
  }

  TEST_CASE("K6: INSERT without a column list gives the values in table order") {
    Analysis a = ok("INSERT INTO users VALUES ($1, $2)");
    CHECK(a.insert.columns.empty());
    REQUIRE(a.insert.rows.size() == 1);
    CHECK(values(a.insert.rows[0]) == "$1,$2");
    CHECK(pins(a, "users").empty());  // no names: the router maps positions itself
  }

  TEST_CASE("K2: quoted mixed-case names are kept as written") {
    Analysis a = ok("/* shardline: shard=s1 */ SELECT * FROM \"Sys\".\"Model\" WHERE \"Id\" = 3");
    CHECK(tables(a) == "Sys.Model r top");
    CHECK(pin(a, "Model", "Id") == "c0");
    CHECK(a.readOnly);
  }

  TEST_CASE("K5: unquoted names are folded as Postgres folds them") {
    Analysis a = ok("SELECT * FROM Public.USERS WHERE User_ID = 42");
    CHECK(tables(a) == "public.users r top");
    CHECK(pin(a, "users", "user_id") == "c0");
  }

  TEST_CASE("K7: colocated join USING (user_id) with a pin pins both tables") {
    Analysis a = ok("SELECT * FROM users u JOIN orders o USING (user_id) WHERE u.user_id = 42");
    CHECK(tables(a) == "users u r top; orders o r top");
    CHECK(pin(a, "u", "user_id") == "c0");
    CHECK(pin(a, "o", "user_id") == "c0");
  }

  TEST_CASE("K7: the merged USING column, unqualified, pins both tables") {
    Analysis a = ok("SELECT * FROM users u JOIN orders o USING (user_id) WHERE user_id = $1");
    CHECK(pin(a, "u", "user_id") == "$1");
    CHECK(pin(a, "o", "user_id") == "$1");
  }

  TEST_CASE("K8: two tables without a join condition are pinned separately") {
    Analysis a = ok("SELECT * FROM users u, orders o WHERE u.user_id = 1 AND o.user_id = 2");
    CHECK(pin(a, "u", "user_id") == "c0");
    CHECK(pin(a, "o", "user_id") == "c1");
  }

  TEST_CASE("K9: UPDATE reports the columns SET assigns") {
    Analysis a = ok("UPDATE users SET user_id = 99 WHERE user_id = 1");
    CHECK(a.kind == StatementKind::Update);
    CHECK(joined(a.update.setColumns) == "user_id");
    CHECK(tables(a) == "users rw top");
    CHECK(pin(a, "users", "user_id") == "c1");
  }

  TEST_CASE("K10: no key in WHERE leaves the key unpinned") {
    Analysis a = ok("SELECT * FROM users WHERE name = 'a'");
    CHECK(pin(a, "users", "user_id").empty());
    CHECK(pin(a, "users", "name") == "c0");
    CHECK(a.readOnly);
  }
}

TEST_SUITE("analyzer: key constraints") {
  TEST_CASE("an equivalence class carries a pin to every member") {
    Analysis a =
        ok("SELECT * FROM users a JOIN orders b ON a.user_id = b.user_id "
           "JOIN items c ON c.owner = b.user_id WHERE b.user_id = 42");
    CHECK(pin(a, "a", "user_id") == "c0");
    CHECK(pin(a, "b", "user_id") == "c0");
    CHECK(pin(a, "c", "owner") == "c0");
  }

  TEST_CASE("OR of equalities on one column pins to their union") {
    Analysis a = ok("SELECT * FROM users WHERE user_id = 1 OR user_id = $1 OR user_id IN (2, 3)");
    CHECK(pin(a, "users", "user_id") == "c0,$1,c1,c2");
  }

  TEST_CASE("OR with another column pins nothing") {
    Analysis a = ok("SELECT * FROM users WHERE user_id = 42 OR name = 'x'");
    CHECK(pins(a, "users").empty());
  }

  TEST_CASE("OR of conjunctions pins the columns every branch pins") {
    Analysis a =
        ok("SELECT * FROM users WHERE (user_id = 1 AND name = 'a') OR (user_id = 2 AND age > 3)");
    CHECK(pins(a, "users") == "user_id=c0,c2");
  }

  TEST_CASE("OR branches on two columns of one class pin the class") {
    Analysis a = ok("SELECT * FROM a JOIN b ON a.id = b.id WHERE a.id = 1 OR b.id = $1");
    CHECK(pin(a, "a", "id") == "c0,$1");
    CHECK(pin(a, "b", "id") == "c0,$1");
  }

  TEST_CASE("IN list") {
    Analysis a = ok("SELECT * FROM users WHERE user_id IN (1, $2, 3)");
    CHECK(pin(a, "users", "user_id") == "c0,$2,c1");
  }

  TEST_CASE("NOT IN and IN with an expression pin nothing") {
    CHECK(pins(ok("SELECT * FROM users WHERE user_id NOT IN (1, 2)"), "users").empty());
    CHECK(pins(ok("SELECT * FROM users WHERE user_id IN (1, 2 + 3)"), "users").empty());
  }

  TEST_CASE("= ANY of an array parameter") {
    Analysis a = ok("SELECT * FROM users WHERE user_id = ANY($1)");
    REQUIRE(table(a, "users")->pin("user_id") != nullptr);
    const ValueRef& value = table(a, "users")->pin("user_id")->values.at(0);
    CHECK(value.source == ValueRef::Source::Parameter);
    CHECK(value.index == 1);
    CHECK(value.array);
    CHECK(pin(ok("SELECT * FROM users WHERE user_id = ANY($1::bigint[])"), "users", "user_id") ==
          "$1[]::int8[]");
  }

  TEST_CASE("= ANY of an array constant or of ARRAY[...]") {
    CHECK(pin(ok("SELECT * FROM users WHERE user_id = ANY('{1,2}')"), "users", "user_id") ==
          "c0[]");
    CHECK(pin(ok("SELECT * FROM users WHERE user_id = ANY(ARRAY[1, $1])"), "users", "user_id") ==
          "c0,$1");
    CHECK(pin(ok("SELECT * FROM users WHERE user_id = ANY(ARRAY[$1, $2]::bigint[])"), "users",
              "user_id") == "$1::int8,$2::int8");
  }

  TEST_CASE("casts of constants and parameters keep the pin and name the type") {
    Analysis a =
        ok("SELECT * FROM users WHERE user_id = '42'::bigint AND name = CAST($1 AS text) "
           "AND org = int8 '7'");
    CHECK(pin(a, "users", "user_id") == "c0::int8");
    CHECK(pin(a, "users", "name") == "$1::text");
    CHECK(pin(a, "users", "org") == "c1::int8");
  }

  TEST_CASE("casts that may change the value pin nothing") {
    // numeric(4,1) and varchar(1) round or cut; 4.6::bigint rounds to 5.
    CHECK(pins(ok("SELECT * FROM t WHERE a = '4.66'::numeric(4,1)"), "t").empty());
    CHECK(pins(ok("SELECT * FROM t WHERE a = 'xy'::varchar(1)"), "t").empty());
    CHECK(pins(ok("SELECT * FROM t WHERE a = 4.6::bigint"), "t").empty());
    CHECK(pins(ok("SELECT * FROM t WHERE a = '5'::text::bigint"), "t").empty());
  }

  TEST_CASE("negative constants: Postgres reports the minus sign's location") {
    Analysis a = ok("SELECT * FROM t WHERE a = -5 AND b = - 2.5 AND c = - -7 AND d = 8");
    CHECK(pin(a, "t", "a") == "-c0");
    CHECK(pin(a, "t", "b") == "-c1");
    CHECK(pin(a, "t", "c") == "c2");
    CHECK(pin(a, "t", "d") == "c3");
  }

  TEST_CASE("a constant is named by its index among all the statement's constants") {
    Analysis a = ok("SELECT 'x', 5 FROM users WHERE user_id = 7 LIMIT 3");
    CHECK(pin(a, "users", "user_id") == "c2");
    CHECK(describe(a.select.limitCount) == "c3");
  }

  TEST_CASE("comparisons other than equality to a value pin nothing") {
    CHECK(pins(ok("SELECT * FROM users WHERE user_id = abs($1)"), "users").empty());
    CHECK(pins(ok("SELECT * FROM users WHERE user_id > 5"), "users").empty());
    CHECK(pins(ok("SELECT * FROM users WHERE user_id BETWEEN 5 AND 5"), "users").empty());
    CHECK(pins(ok("SELECT * FROM users WHERE NOT (user_id = 5)"), "users").empty());
    CHECK(pins(ok("SELECT * FROM users WHERE user_id = NULL"), "users").empty());
    CHECK(pins(ok("SELECT * FROM users WHERE user_id::text = '5'"), "users").empty());
    CHECK(pins(ok("SELECT * FROM users u, t WHERE u.user_id = t.x"), "u").empty());
  }

  TEST_CASE("row comparisons") {
    Analysis a = ok("SELECT * FROM t WHERE (a, b) = (1, $1) AND (c, d) IN ((2, 3), (4, 5))");
    CHECK(pins(a, "t") == "a=c0 b=$1 c=c1,c3 d=c2,c4");
  }

  TEST_CASE("qualified columns: table name, schema and table, alias") {
    CHECK(pin(ok("SELECT * FROM public.users WHERE public.users.user_id = 7"), "users",
              "user_id") == "c0");
    CHECK(pin(ok("SELECT * FROM users WHERE users.user_id = 7"), "users", "user_id") == "c0");
    // An aliased table is not named by its own name any more.
    CHECK(pins(ok("SELECT * FROM users x WHERE users.user_id = 7"), "x").empty());
  }

  TEST_CASE("LEFT JOIN: a pin in ON restricts only the nullable side") {
    Analysis a =
        ok("SELECT * FROM users u LEFT JOIN orders o ON o.user_id = u.user_id AND o.user_id = 7");
    CHECK(pin(a, "u", "user_id").empty());
    CHECK(pin(a, "o", "user_id") == "c0");
  }

  TEST_CASE("LEFT JOIN: a WHERE pin on the preserved side reaches the nullable side") {
    Analysis a =
        ok("SELECT * FROM users u LEFT JOIN orders o ON o.user_id = u.user_id WHERE u.user_id = 7");
    CHECK(pin(a, "u", "user_id") == "c0");
    CHECK(pin(a, "o", "user_id") == "c0");
  }

  TEST_CASE("LEFT JOIN: an inner join inside the nullable side restricts only that side") {
    Analysis a = ok("SELECT * FROM a LEFT JOIN (b JOIN c ON b.k = c.k AND c.k = 5) ON a.k = b.k");
    CHECK(pin(a, "a", "k").empty());
    CHECK(pin(a, "b", "k") == "c0");
    CHECK(pin(a, "c", "k") == "c0");
  }

  TEST_CASE("RIGHT JOIN: the left side is the nullable one") {
    Analysis a = ok("SELECT * FROM a RIGHT JOIN b ON a.k = b.k AND a.k = 1");
    CHECK(pin(a, "a", "k") == "c0");
    CHECK(pin(a, "b", "k").empty());
  }

  TEST_CASE("FULL JOIN: ON restricts neither side") {
    Analysis a = ok("SELECT * FROM a FULL JOIN b ON a.k = b.k AND b.k = 1 WHERE a.k = 2");
    CHECK(pin(a, "a", "k") == "c1");
    CHECK(pin(a, "b", "k").empty());
  }

  TEST_CASE("NATURAL JOIN pins nothing through its unknown common columns") {
    Analysis a = ok("SELECT * FROM users u NATURAL JOIN orders o WHERE u.user_id = 1");
    CHECK(pin(a, "u", "user_id") == "c0");
    CHECK(pin(a, "o", "user_id").empty());
  }
}

TEST_SUITE("analyzer: subqueries and WITH") {
  TEST_CASE("IN (SELECT ...) pins the subquery's table, not the outer one") {
    Analysis a =
        ok("SELECT * FROM users WHERE user_id IN (SELECT user_id FROM orders WHERE user_id = 3)");
    CHECK(tables(a) == "users r top; orders r sub");
    CHECK(pin(a, "users", "user_id").empty());
    CHECK(pin(a, "orders", "user_id") == "c0");
  }

  TEST_CASE("a correlated subquery takes the outer pin through the correlation") {
    Analysis a =
        ok("SELECT * FROM users u WHERE u.user_id = $1 AND EXISTS "
           "(SELECT 1 FROM orders o WHERE o.user_id = u.user_id)");
    CHECK(pin(a, "u", "user_id") == "$1");
    CHECK(pin(a, "o", "user_id") == "$1");
  }

  TEST_CASE("only a LATERAL subquery in FROM sees the tables beside it") {
    Analysis lateral =
        ok("SELECT * FROM users u, LATERAL (SELECT * FROM orders o WHERE o.user_id = u.user_id) x "
           "WHERE u.user_id = 3");
    CHECK(pin(lateral, "o", "user_id") == "c0");
    Analysis plain =
        ok("SELECT * FROM users u, (SELECT * FROM orders o WHERE o.user_id = u.user_id) x "
           "WHERE u.user_id = 3");
    CHECK(pin(plain, "o", "user_id").empty());
  }

  TEST_CASE("WITH queries: their tables have scope Cte; a WITH name is not a table") {
    Analysis a =
        ok("WITH recent AS (SELECT * FROM orders WHERE user_id = 9) "
           "SELECT * FROM recent r JOIN users u USING (user_id)");
    CHECK(tables(a) == "orders r cte; users u r top");
    CHECK(pin(a, "orders", "user_id") == "c0");
  }

  TEST_CASE("a WITH query named like a table reads the table inside its own body") {
    Analysis a = ok("WITH users AS (SELECT * FROM users WHERE user_id = 1) SELECT * FROM users");
    CHECK(tables(a) == "users r cte");
  }

  TEST_CASE("WITH RECURSIVE refers to itself") {
    Analysis a =
        ok("WITH RECURSIVE tree AS (SELECT id FROM nodes WHERE id = 1 UNION ALL "
           "SELECT n.id FROM nodes n JOIN tree t ON n.parent = t.id) SELECT * FROM tree");
    CHECK(tables(a) == "nodes r cte; nodes n r cte");
    CHECK(a.select.setOperation == false);  // the statement's own SELECT has none
  }

  TEST_CASE("a data-modifying WITH is a write") {
    Analysis a =
        ok("WITH gone AS (DELETE FROM orders WHERE user_id = 4 RETURNING *) SELECT count(*) FROM "
           "gone");
    CHECK(a.kind == StatementKind::Select);
    CHECK(a.writingCte);
    CHECK_FALSE(a.readOnly);
    CHECK(tables(a) == "orders rw cte");
    CHECK(pin(a, "orders", "user_id") == "c0");
  }

  TEST_CASE("UNION: each arm pins its own tables") {
    Analysis a =
        ok("SELECT user_id FROM users WHERE user_id = 1 UNION ALL "
           "SELECT user_id FROM orders WHERE user_id = 2 ORDER BY 1");
    CHECK(tables(a) == "users r top; orders r top");
    CHECK(pin(a, "users", "user_id") == "c0");
    CHECK(pin(a, "orders", "user_id") == "c1");
    CHECK(a.select.setOperation);
    CHECK(a.select.orderBy);
  }
}

TEST_SUITE("analyzer: read-only") {
  TEST_CASE("SELECT and SHOW are read-only") {
    CHECK(ok("SELECT lower(name) FROM users").readOnly);
    CHECK(ok("SHOW search_path").readOnly);
  }

  TEST_CASE("row locks make a SELECT a write, in a subquery too") {
    for (const char* sql : {"SELECT * FROM users WHERE user_id = 1 FOR UPDATE",
                            "SELECT * FROM users FOR NO KEY UPDATE SKIP LOCKED",
                            "SELECT * FROM users FOR SHARE", "SELECT * FROM users FOR KEY SHARE",
                            "SELECT * FROM (SELECT * FROM users FOR UPDATE) s"}) {
      CAPTURE(sql);
      Analysis a = ok(sql);
      CHECK(a.locksRows);
      CHECK_FALSE(a.readOnly);
    }
  }

  TEST_CASE("functions that write or lock make a SELECT a write") {
    for (const char* sql :
         {"SELECT nextval('s')", "SELECT setval('s', 5)", "SELECT set_config('a', 'b', false)",
          "SELECT pg_advisory_lock(1)", "SELECT pg_try_advisory_xact_lock(1)",
          "SELECT lo_unlink(5)", "SELECT pg_notify('ch', 'x')", "SELECT txid_current()",
          "SELECT pg_catalog.pg_current_xact_id()",
          "SELECT * FROM users WHERE user_id = (SELECT nextval('s'))"}) {
      CAPTURE(sql);
      Analysis a = ok(sql);
      CHECK(a.writingFunction);
      CHECK_FALSE(a.readOnly);
    }
  }

  TEST_CASE("DML, DDL, SET and transaction control are not read-only") {
    for (const char* sql : {"DELETE FROM users", "CREATE TABLE t (a int)", "SET x = 1", "BEGIN",
                            "CALL p()", "LISTEN ch"}) {
      CAPTURE(sql);
      CHECK_FALSE(ok(sql).readOnly);
    }
  }
}

TEST_SUITE("analyzer: DML") {
  TEST_CASE("UPDATE ... FROM joins the target with other tables") {
    Analysis a =
        ok("UPDATE orders o SET total = total + 1 FROM users u "
           "WHERE u.user_id = o.user_id AND u.user_id = $1 RETURNING o.*");
    CHECK(tables(a) == "orders o rw top; users u r top");
    CHECK(a.target == 0);
    CHECK(a.update.hasFrom);
    CHECK(a.returning);
    CHECK(joined(a.update.setColumns) == "total");
    CHECK(pin(a, "o", "user_id") == "$1");
    CHECK(pin(a, "u", "user_id") == "$1");
  }

  TEST_CASE("UPDATE SET (a, b) = (...) assigns both columns") {
    Analysis a = ok("UPDATE users SET (name, user_id) = ('x', 5) WHERE user_id = 4");
    CHECK(joined(a.update.setColumns) == "name,user_id");
  }

  TEST_CASE("DELETE ... USING") {
    Analysis a =
        ok("DELETE FROM orders o USING users u WHERE o.user_id = u.user_id AND u.user_id = 8");
    CHECK(a.kind == StatementKind::Delete);
    CHECK(tables(a) == "orders o rw top; users u r top");
    CHECK(a.del.hasUsing);
    CHECK(pin(a, "o", "user_id") == "c0");
  }

  TEST_CASE("DELETE with = ANY pins two columns") {
    Analysis a = ok("DELETE FROM orders WHERE user_id = 5 AND order_id = ANY($1)");
    CHECK(pins(a, "orders") == "order_id=$1[] user_id=c0");
    CHECK_FALSE(a.returning);
  }

  TEST_CASE("INSERT ... SELECT") {
    Analysis a = ok(
        "INSERT INTO users (user_id, name) SELECT user_id, name FROM old_users WHERE user_id = 3");
    CHECK(a.insert.fromSelect);
    CHECK(a.insert.rows.empty());
    CHECK(tables(a) == "users w top; old_users r sub");
    CHECK(pins(a, "users").empty());
    CHECK(pin(a, "old_users", "user_id") == "c0");
  }

  TEST_CASE("INSERT ... ON CONFLICT DO UPDATE lists the columns it sets") {
    Analysis a = ok(
        "INSERT INTO users (user_id, name) VALUES ($1, $2) "
        "ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, seen = now() RETURNING user_id");
    CHECK(a.insert.onConflict == ConflictAction::Update);
    CHECK(joined(a.insert.conflictSetColumns) == "name,seen");
    CHECK(a.returning);
    CHECK(tables(a) == "users rw top");
    CHECK(ok("INSERT INTO users (user_id) VALUES (1) ON CONFLICT DO NOTHING").insert.onConflict ==
          ConflictAction::Nothing);
  }

  TEST_CASE("INSERT values that are not a constant or parameter leave the column unpinned") {
    Analysis a = ok(
        "INSERT INTO users (user_id, name, age) VALUES (DEFAULT, upper('x'), 1), (NULL, 'b', -2)");
    REQUIRE(a.insert.rows.size() == 2);
    CHECK(values(a.insert.rows[0]) == "default,expr,c1");
    CHECK(values(a.insert.rows[1]) == "null,c2,-c3");
    CHECK(pins(a, "users") == "age=c1,-c3");
  }

  TEST_CASE("INSERT DEFAULT VALUES") {
    Analysis a = ok("INSERT INTO users DEFAULT VALUES");
    CHECK(a.insert.defaultValues);
    CHECK(a.insert.rows.empty());
  }

  TEST_CASE("MERGE writes its target and pins nothing") {
    Analysis a =
        ok("MERGE INTO users u USING new_users n ON u.user_id = n.user_id AND u.user_id = 1 "
           "WHEN MATCHED THEN UPDATE SET name = n.name "
           "WHEN NOT MATCHED THEN INSERT VALUES (n.user_id, n.name)");
    CHECK(a.kind == StatementKind::Merge);
    CHECK(tables(a) == "users u rw top; new_users n r top");
    CHECK(joined(a.update.setColumns) == "name");
    CHECK(pins(a, "u").empty());
  }
}
