INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (3, 'b3');
INSERT INTO users (user_id, name) VALUES (5, 'c5');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
INSERT INTO orders (order_id, user_id, total) VALUES (10, 1, 5.00), (11, 1, 6.00);
INSERT INTO orders (order_id, user_id, total) VALUES (12, 3, 7.25);
INSERT INTO orders (order_id, user_id, total) VALUES (13, 4, 8.75);
SELECT * FROM users u JOIN orders o USING (user_id) WHERE u.user_id = 1;
SELECT u.name, o.order_id, o.total FROM users u JOIN orders o ON o.user_id = u.user_id
WHERE u.user_id = 3;
SELECT u.name, o.total FROM users u, orders o WHERE o.user_id = u.user_id AND o.user_id = 4;
SELECT u.user_id, u.name, o.order_id FROM users u LEFT JOIN orders o ON o.user_id = u.user_id
WHERE u.user_id = 5;
SELECT u.name, sum(o.total) AS spent FROM users u JOIN orders o USING (user_id)
WHERE user_id = 1 GROUP BY u.name;
SELECT u.user_id, o.order_id FROM users u JOIN orders o USING (user_id)
WHERE u.user_id IN (1, 3, 4);
-- params: [1]
SELECT o.order_id, u.name FROM orders o JOIN users u ON u.user_id = o.user_id
WHERE o.user_id = $1 ORDER BY o.order_id;
SELECT name FROM users WHERE user_id = 1 AND EXISTS (
    SELECT 1 FROM orders WHERE orders.user_id = users.user_id AND total > 5.5);
