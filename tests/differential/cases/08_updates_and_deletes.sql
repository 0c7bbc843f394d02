INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (3, 'b3');
INSERT INTO users (user_id, name) VALUES (5, 'c5');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
INSERT INTO users (user_id, name) VALUES (2, 'a2');
INSERT INTO orders (order_id, user_id, total) VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30);
INSERT INTO orders (order_id, user_id, total) VALUES (4, 4, 40);
UPDATE users SET name = 'renamed' WHERE user_id = 1;
UPDATE users SET name = name || '+' WHERE user_id = 3 RETURNING *;
UPDATE users SET name = 'nobody' WHERE user_id = 999;
UPDATE users SET name = 'both' WHERE user_id IN (1, 2);
UPDATE orders SET total = total * 1.1 WHERE user_id = 1;
UPDATE orders SET total = 0 WHERE user_id = 4 AND order_id = 4 RETURNING order_id, total;
-- params: ["param", 5]
UPDATE users SET name = $1 WHERE user_id = $2;
SELECT * FROM users WHERE user_id IN (1, 2, 3, 4, 5);
SELECT * FROM orders WHERE user_id IN (1, 2, 4);
DELETE FROM orders WHERE user_id = 1 AND order_id = 2;
DELETE FROM orders WHERE user_id = 2 RETURNING *;
DELETE FROM users WHERE user_id = 2;
DELETE FROM users WHERE user_id = 999;
-- params: [4]
DELETE FROM users WHERE user_id = $1 RETURNING name;
SELECT * FROM users;
SELECT * FROM orders;
