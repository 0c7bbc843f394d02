-- SQL PREPARE and EXECUTE on a sharded table.
-- 1. PREPARE of a statement whose key is a parameter is refused with SL001
--    ("a statement that writes or locks rows ... must give its key"), although
--    it neither writes nor locks; EXECUTE then finds no prepared statement
--    (26000), and the INSERTs it should have made are missing.
-- 2. PREPARE with a literal key runs on that key's shard (s3 for key 4) and
--    keeps the session there: a later reference-table write outside any
--    transaction is refused with SL003 ("the session runs on shard s3").
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
