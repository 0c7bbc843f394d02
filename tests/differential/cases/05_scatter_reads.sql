-- Reads without the shard key: every shard answers, rows concatenated, counts summed.
SELECT * FROM users;
INSERT INTO users (user_id, name) VALUES (1, 'ann');
INSERT INTO users (user_id, name) VALUES (3, 'ben');
INSERT INTO users (user_id, name) VALUES (5, 'cat');
INSERT INTO users (user_id, name) VALUES (4, 'dan');
INSERT INTO users (user_id, name) VALUES (2, 'abe');
INSERT INTO users (user_id, name) VALUES (20, 'zed');
INSERT INTO orders (order_id, user_id, total) VALUES (1, 1, 10), (2, 2, 20);
INSERT INTO orders (order_id, user_id, total) VALUES (3, 3, 30);
INSERT INTO orders (order_id, user_id, total) VALUES (4, 4, 40), (5, 20, 50);
SELECT * FROM users;
SELECT user_id, name FROM users WHERE name LIKE 'a%';
SELECT name FROM users WHERE name = 'nobody';
SELECT user_id * 10 AS scaled, name || '!' AS loud FROM users WHERE user_id > 2;
SELECT * FROM orders WHERE total >= 20;
SELECT user_id FROM users WHERE user_id <> 1;
SELECT * FROM users WHERE user_id BETWEEN 2 AND 4;
-- params: ["b%"]
SELECT user_id FROM users WHERE name LIKE $1;
-- params: [25]
SELECT order_id, total FROM orders WHERE total > $1;
