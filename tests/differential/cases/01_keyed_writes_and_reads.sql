-- Keys and their shards over four shards (slots split evenly):
--   s0: 1 2 9 11 14 16 18   s1: 3 6 21 28 30   s2: 5 7 8 12 17   s3: 4 10 13 15 20
INSERT INTO users (user_id, name) VALUES (1, 'ada');
INSERT INTO users (user_id, name) VALUES (3, 'bob');
INSERT INTO users (user_id, name) VALUES (5, 'cy');
INSERT INTO users (user_id, name) VALUES (4, 'dee');
SELECT * FROM users WHERE user_id = 1;
SELECT name FROM users WHERE user_id = 3;
SELECT user_id, name FROM users WHERE user_id = 5;
SELECT * FROM users WHERE user_id = 4;
SELECT * FROM users WHERE user_id = 999;
SELECT user_id, upper(name) AS shout, length(name) FROM users WHERE 4 = user_id;
SELECT * FROM users WHERE user_id = '5';
SELECT * FROM users WHERE user_id = 5::bigint;
INSERT INTO users (user_id, name) VALUES (10, 'eve') RETURNING user_id, name;
INSERT INTO users (name, user_id) VALUES ('fay', 6) RETURNING *;
INSERT INTO orders (order_id, user_id, total) VALUES (100, 1, 12.50);
INSERT INTO orders (user_id, order_id, total) VALUES (3, 101, 7) RETURNING total * 2 AS doubled;
SELECT * FROM orders WHERE user_id = 1;
SELECT order_id, total FROM orders WHERE user_id = 3 AND total > 5;
-- params: [12, "gus"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
-- params: [12]
SELECT * FROM users WHERE user_id = $1;
-- binary-params: [13, "hal"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
-- binary-params: [13]
SELECT name FROM users WHERE user_id = $1;
-- params: ["hal", 13]
SELECT user_id FROM users WHERE name = $1 AND user_id = $2;
