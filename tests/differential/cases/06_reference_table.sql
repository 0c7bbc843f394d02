-- A reference table: written on every shard, read from one.
INSERT INTO countries (code, name) VALUES ('fr', 'France');
INSERT INTO countries (code, name) VALUES ('de', 'Germany'), ('it', 'Italy'), ('es', 'Spain');
SELECT * FROM countries;
SELECT name FROM countries WHERE code = 'de';
UPDATE countries SET name = 'Italia' WHERE code = 'it';
UPDATE countries SET name = upper(name) WHERE code IN ('fr', 'es');
DELETE FROM countries WHERE code = 'es';
SELECT * FROM countries ORDER BY code;
SELECT count(*) FROM countries;
INSERT INTO users (user_id, name) VALUES (1, 'fr');
INSERT INTO users (user_id, name) VALUES (4, 'de');
SELECT u.user_id, c.name FROM users u JOIN countries c ON c.code = u.name WHERE u.user_id = 4;
-- params: ["pt", "Portugal"]
INSERT INTO countries (code, name) VALUES ($1, $2);
-- params: ["pt"]
SELECT name FROM countries WHERE code = $1;
DELETE FROM countries WHERE code LIKE 'p%';
SELECT * FROM countries;
