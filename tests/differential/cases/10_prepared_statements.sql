-- Statements the driver prepares (Parse once, then Bind and Execute by name),
-- and SQL PREPARE and EXECUTE on a table the map does not name.
INSERT INTO users (user_id, name) VALUES (1, 'a1');
INSERT INTO users (user_id, name) VALUES (3, 'b3');
INSERT INTO users (user_id, name) VALUES (4, 'd4');
-- prepared
-- params: [20, "z20"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
-- prepared
-- params: [5, "c5"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
-- prepared
-- params: [20]
SELECT name FROM users WHERE user_id = $1;
-- prepared
-- params: [3]
SELECT name FROM users WHERE user_id = $1;
-- prepared
-- params: [5]
SELECT name FROM users WHERE user_id = $1;
-- prepared
-- binary-params: ["z20!", 20]
UPDATE users SET name = $1 WHERE user_id = $2 RETURNING *;
-- prepared
-- params: [[1, 3, 4, 5, 20]]
SELECT user_id, name FROM users WHERE user_id = ANY ($1);
-- prepared
-- params: ["%5%"]
SELECT user_id FROM users WHERE name LIKE $1;
-- prepared
-- error: 23505
-- params: [3, "b3 again"]
INSERT INTO users (user_id, name) VALUES ($1, $2);
SELECT * FROM users;
INSERT INTO notes (note_id, body) VALUES (1, 'one'), (2, 'two');
PREPARE note_by_id (int) AS SELECT body FROM notes WHERE note_id = $1;
EXECUTE note_by_id(1);
EXECUTE note_by_id(2);
EXECUTE note_by_id(3);
PREPARE add_note (int, text) AS INSERT INTO notes (note_id, body) VALUES ($1, $2);
EXECUTE add_note(3, 'three');
-- error: 23505
EXECUTE add_note(3, 'three again');
EXECUTE note_by_id(3);
DEALLOCATE note_by_id;
-- error: 26000
EXECUTE note_by_id(1);
DEALLOCATE ALL;
SELECT * FROM notes;
