-- Errors Postgres raises while a statement runs on several shards (a scatter
-- read, a reference table write) reach the client as Postgres words them.
INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
INSERT INTO countries (code, name) VALUES ('fr', 'France');
-- error: 22P02
SELECT * FROM users WHERE user_id = 'abc';
-- error: 22012
SELECT user_id / (user_id - user_id) FROM users;
-- error: 23505
INSERT INTO countries (code, name) VALUES ('fr', 'France again');
-- error: 42703
SELECT no_such_column FROM users;
