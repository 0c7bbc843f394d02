-- Transactions whose statements all name keys of one shard (s2: 5 7 8 12 17).
BEGIN;
INSERT INTO users (user_id, name) VALUES (5, 'c5');
INSERT INTO orders (order_id, user_id, total) VALUES (1, 5, 9.99);
SELECT * FROM users WHERE user_id = 5;
COMMIT;
SELECT u.name, o.total FROM users u JOIN orders o USING (user_id) WHERE user_id = 5;
BEGIN;
INSERT INTO users (user_id, name) VALUES (7, 'c7');
UPDATE users SET name = 'changed' WHERE user_id = 5;
SELECT * FROM users WHERE user_id IN (5, 7);
ROLLBACK;
SELECT * FROM users WHERE user_id IN (5, 7);
START TRANSACTION;
INSERT INTO users (user_id, name) VALUES (8, 'c8');
SAVEPOINT before_update;
UPDATE users SET name = 'oops' WHERE user_id = 8;
ROLLBACK TO SAVEPOINT before_update;
SELECT name FROM users WHERE user_id = 8;
RELEASE SAVEPOINT before_update;
END;
SELECT * FROM users WHERE user_id = 8;
-- A transaction on another shard afterwards (s3: 4 10 13).
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO users (user_id, name) VALUES (4, 'd4'), (10, 'd10');
SELECT count(*) FROM users WHERE user_id IN (4, 10, 13);
COMMIT;
-- An error aborts the transaction until ROLLBACK, as in Postgres.
BEGIN;
INSERT INTO users (user_id, name) VALUES (12, 'c12');
-- error: 23505
INSERT INTO users (user_id, name) VALUES (12, 'again');
-- error: 25P02
SELECT * FROM users WHERE user_id = 12;
ROLLBACK;
SELECT * FROM users WHERE user_id = 12;
-- A transaction on the unnamed table; reference tables read inside a
-- transaction on any shard.
BEGIN;
INSERT INTO notes (note_id, body) VALUES (1, 'in a transaction');
UPDATE notes SET body = 'updated' WHERE note_id = 1;
COMMIT;
SELECT * FROM notes;
INSERT INTO countries (code, name) VALUES ('nl', 'Netherlands');
BEGIN;
SELECT name FROM users WHERE user_id = 4;
SELECT * FROM countries;
UPDATE users SET name = 'dutch' WHERE user_id = 4;
SELECT u.name, c.name FROM users u JOIN countries c ON c.code = 'nl' WHERE u.user_id = 4;
COMMIT;
BEGIN;
SELECT * FROM users WHERE user_id = 17;
SELECT * FROM countries WHERE code = 'nl';
COMMIT;
-- Statements the driver prepares, inside a transaction (s1: 3 6 21).
BEGIN;
-- prepared
-- params: [21, "b21"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
-- prepared
-- params: [21]
SELECT name FROM users WHERE user_id = $1;
-- prepared
-- params: [6, "b6"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
COMMIT;
BEGIN;
-- prepared
-- params: [3, "b3"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
ROLLBACK;
SELECT * FROM users;
-- BEGIN and START TRANSACTION prepared by the driver under a name, as psycopg
-- does once a connection has run the same "BEGIN" five times.
-- prepared
BEGIN;
INSERT INTO users (user_id, name) VALUES (24, 'c24');
COMMIT;
-- prepared
START TRANSACTION;
SELECT * FROM users WHERE user_id = 24;
-- prepared
COMMIT;
-- prepared
BEGIN;
SELECT * FROM users WHERE user_id = 4;
ROLLBACK;
SELECT * FROM users;
