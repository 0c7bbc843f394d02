-- Multi-row INSERTs whose rows all belong to one shard (see 01 for the shards).
INSERT INTO users (user_id, name) VALUES (1, 'a1'), (2, 'a2'), (9, 'a9');
INSERT INTO users (user_id, name) VALUES (3, 'b3'), (6, 'b6'), (21, 'b21'), (28, 'b28');
INSERT INTO users (user_id, name) VALUES (5, 'c5'), (7, 'c7') RETURNING user_id;
INSERT INTO users (user_id, name) VALUES (4, 'd4'), (10, 'd10'), (13, 'd13');
INSERT INTO orders (order_id, user_id, total) VALUES (1, 4, 1.10), (2, 4, 2.20), (3, 10, 3.30);
INSERT INTO orders (order_id, user_id, total) VALUES (4, 5, 4), (5, 7, NULL), (6, 5, 6.66);
-- params: [11, "a11", 14, "a14"]
INSERT INTO users (user_id, name) VALUES ($1, $2), ($3, $4);
SELECT * FROM users WHERE user_id = 11;
SELECT * FROM users WHERE user_id = 14;
SELECT * FROM orders WHERE user_id = 4 ORDER BY order_id;
SELECT * FROM orders WHERE user_id = 5 ORDER BY order_id DESC;
SELECT count(*), sum(total), max(order_id) FROM orders WHERE user_id = 5;
SELECT user_id, count(*) FROM users WHERE user_id = 1 GROUP BY user_id;
SELECT DISTINCT name FROM users WHERE user_id = 3;
SELECT * FROM orders WHERE user_id = 4 ORDER BY total DESC LIMIT 2 OFFSET 1;
