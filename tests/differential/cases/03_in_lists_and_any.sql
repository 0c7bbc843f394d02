INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (3, 'b3');
INSERT INTO users (user_id, name) VALUES (5, 'c5');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
INSERT INTO users (user_id, name) VALUES (2, 'a2');
INSERT INTO users (user_id, name) VALUES (6, 'b6');
-- IN lists over one shard and over several.
SELECT * FROM users WHERE user_id IN (1, 2);
SELECT * FROM users WHERE user_id IN (1, 3, 5, 4);
SELECT name FROM users WHERE user_id IN (3, 6, 999);
SELECT * FROM users WHERE user_id IN (998, 999);
SELECT * FROM users WHERE user_id = ANY (ARRAY[1, 4, 6]);
SELECT * FROM users WHERE user_id = ANY ('{2,3,5}'::bigint[]);
SELECT * FROM users WHERE user_id = 1 OR user_id = 5;
SELECT * FROM users WHERE (user_id = 3 OR user_id IN (4, 6)) AND name <> 'b6';
-- params: [[1, 3, 5, 4, 2, 6]]
SELECT user_id, name FROM users WHERE user_id = ANY ($1);
-- params: [2, 4]
SELECT user_id FROM users WHERE user_id IN ($1, $2);
-- binary-params: [[5, 6, 7]]
SELECT * FROM users WHERE user_id = ANY ($1::bigint[]);
