-- Writes to a reference table with RETURNING: each changed row comes back once,
-- and the command tag counts the rows once, though every shard holds a copy.
INSERT INTO countries (code, name) VALUES ('fr', 'France'), ('es', 'Spain'), ('it', 'Italy');
INSERT INTO countries (code, name) VALUES ('pt', 'Portugal') RETURNING *;
UPDATE countries SET name = upper(name) WHERE code IN ('fr', 'es') RETURNING code, name;
DELETE FROM countries WHERE code = 'it' RETURNING name;
SELECT * FROM countries;
