-- A join of colocated sharded tables on their shard key, without the key: every
-- shard holds each user's orders, so a scatter would answer right, but shardline
-- does not yet check that the join is on the key, and a join on anything else
-- would lose the pairs that cross shards. Until it checks, it refuses (SL004)
-- every statement over several shards that uses two sharded tables without the
-- same keys; Postgres answers.
INSERT INTO users (user_id, name) VALUES (1, 'ann');
INSERT INTO users (user_id, name) VALUES (3, 'ben');
INSERT INTO users (user_id, name) VALUES (5, 'cat');
INSERT INTO users (user_id, name) VALUES (4, 'dan');
INSERT INTO users (user_id, name) VALUES (2, 'abe');
INSERT INTO users (user_id, name) VALUES (20, 'zed');
INSERT INTO orders (order_id, user_id, total) VALUES (1, 1, 10), (2, 2, 20);
INSERT INTO orders (order_id, user_id, total) VALUES (3, 3, 30);
INSERT INTO orders (order_id, user_id, total) VALUES (4, 4, 40), (5, 20, 50);
SELECT u.name, o.total FROM users u JOIN orders o USING (user_id) WHERE o.total > 15;
