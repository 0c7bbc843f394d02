-- Writes to a reference table with RETURNING: Postgres returns each changed row
-- once; shardline returns the rows of every shard (four copies on four shards),
-- while the command tag counts one shard's rows ("UPDATE 2" with 8 rows).
INSERT INTO countries (code, name) VALUES ('fr', 'France'), ('es', 'Spain'), ('it', 'Italy');
INSERT INTO countries (code, name) VALUES ('pt', 'Portugal') RETURNING *;
UPDATE countries SET name = upper(name) WHERE code IN ('fr', 'es') RETURNING code, name;
DELETE FROM countries WHERE code = 'it' RETURNING name;
SELECT * FROM countries;
