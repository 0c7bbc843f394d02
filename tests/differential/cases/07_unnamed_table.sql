-- notes is not in the map: it lives on the first shard only.
INSERT INTO notes (note_id, body) VALUES (1, 'first'), (2, 'second'), (3, 'third');
SELECT * FROM notes;
SELECT body FROM notes WHERE note_id = 2;
SELECT count(*), max(note_id) FROM notes;
SELECT * FROM notes ORDER BY note_id DESC LIMIT 2;
UPDATE notes SET body = body || ' (edited)' WHERE note_id >= 2;
DELETE FROM notes WHERE note_id = 1 RETURNING body;
SELECT * FROM notes ORDER BY note_id;
ALTER TABLE notes ADD COLUMN pinned boolean NOT NULL DEFAULT false;
UPDATE notes SET pinned = true WHERE note_id = 3;
SELECT note_id, pinned FROM notes ORDER BY note_id;
TRUNCATE notes;
SELECT * FROM notes;
SELECT 1 + 1 AS two, 'no table' AS what;
SELECT current_database(), current_user;
