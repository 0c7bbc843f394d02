-- SQL PREPARE and EXECUTE on a sharded table. A statement's shard is known only
-- at EXECUTE, so shardline refuses SQL PREPARE of statements on sharded or
-- reference tables (SL004, "not supported yet") where Postgres prepares them;
-- the EXECUTEs then find no statement (26000). Drivers' protocol-level prepared
-- statements route per execution and are covered in cases/10.
INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
PREPARE user_by_id (bigint) AS SELECT user_id, name FROM users WHERE user_id = $1;
EXECUTE user_by_id(1);
EXECUTE user_by_id(4);
PREPARE add_user (bigint, text) AS INSERT INTO users (user_id, name) VALUES ($1, $2);
EXECUTE add_user(5, 'c5');
EXECUTE add_user(10, 'd10');
DEALLOCATE ALL;
PREPARE user_4 AS SELECT * FROM users WHERE user_id = 4;
EXECUTE user_4;
INSERT INTO countries (code, name) VALUES ('fr', 'France');
SELECT * FROM users;
