-- DDL on sharded and reference tables reaches every shard; the new columns,
-- indexes and constraints then behave as in Postgres.
INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
ALTER TABLE users ADD COLUMN email text;
ALTER TABLE users ADD COLUMN score int NOT NULL DEFAULT 0;
CREATE INDEX users_name_idx ON users (name);
CREATE UNIQUE INDEX users_email_idx ON users (user_id, email);
ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);
ALTER TABLE countries ADD COLUMN continent text DEFAULT 'Europe';
COMMENT ON TABLE users IS 'people';
SELECT * FROM users WHERE user_id = 1;
INSERT INTO users (user_id, name, email, score) VALUES (5, 'c5', 'c5@example.org', 3);
UPDATE users SET email = 'd4@example.org', score = score + 1 WHERE user_id = 4 RETURNING *;
SELECT user_id, email, score FROM users WHERE email IS NOT NULL;
-- error: 23514
INSERT INTO orders (order_id, user_id, total) VALUES (1, 4, -1);
INSERT INTO orders (order_id, user_id, total) VALUES (1, 4, 1);
INSERT INTO countries (code, name) VALUES ('fr', 'France');
INSERT INTO countries (code, name, continent) VALUES ('jp', 'Japan', 'Asia');
SELECT * FROM countries;
SELECT obj_description('users'::regclass, 'pg_class');
DROP INDEX users_name_idx;
ALTER TABLE users DROP COLUMN score;
ALTER TABLE users RENAME COLUMN email TO mail;
SELECT * FROM users WHERE user_id IN (1, 4, 5);
-- error: 42703
SELECT email FROM users WHERE user_id = 4;
ALTER TABLE orders DROP CONSTRAINT orders_total_positive;
INSERT INTO orders (order_id, user_id, total) VALUES (2, 4, -1);
SELECT * FROM orders WHERE user_id = 4;
CREATE TABLE IF NOT EXISTS notes (note_id int PRIMARY KEY, body text);
CREATE INDEX notes_body_idx ON notes (body);
DROP TABLE notes;
-- error: 42P01
SELECT * FROM notes;
TRUNCATE orders;
SELECT * FROM orders;
TRUNCATE users, countries;
SELECT * FROM users;
SELECT * FROM countries;
