-- Errors Postgres raises itself must reach the client unchanged.
INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
INSERT INTO orders (order_id, user_id, total) VALUES (1, 4, 0);
-- error: 23505
INSERT INTO users (user_id, name) VALUES (1, 'duplicate');
-- error: 23502
INSERT INTO users (user_id, name) VALUES (3, NULL);
-- error: 22003
INSERT INTO orders (order_id, user_id, total) VALUES (2, 4, 123456789012);
-- error: 22012
SELECT 1 / total FROM orders WHERE user_id = 4;
-- error: 22012
SELECT 1 / 0;
-- error: 42703
SELECT no_such_column FROM users WHERE user_id = 1;
-- error: 42P01
SELECT * FROM no_such_table;
-- error: 42601
SELEC 1;
-- error: 22012
UPDATE orders SET total = 1 / total WHERE user_id = 4;
SELECT * FROM countries;
-- error: 22012
INSERT INTO notes (note_id, body) VALUES (1 / 0, 'x');
-- error: P0001
DO $$ BEGIN RAISE EXCEPTION 'custom failure %', 42 USING HINT = 'a hint'; END $$;
SELECT * FROM users;
-- error: 22P02
SELECT * FROM users WHERE user_id = 4 AND name::int = 1;
-- error: 23505
INSERT INTO users (user_id, name) VALUES (2, 'a2'), (9, 'a9'), (2, 'again');
-- error: 42883
UPDATE users SET name = 1.5 + now() WHERE user_id = 1;
-- error: 42883
SELECT user_id + 'x'::text FROM users WHERE user_id = 1;
SELECT * FROM users WHERE user_id IN (1, 2, 9);
