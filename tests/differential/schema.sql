-- Run before every case file, on plain Postgres and through the router, and
-- compared like the files' own statements: every file starts from empty tables.
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS countries;
DROP TABLE IF EXISTS notes;
CREATE TABLE users (user_id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (
    order_id bigint,
    user_id bigint NOT NULL,
    total numeric(10, 2),
    PRIMARY KEY (user_id, order_id)
);
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
CREATE TABLE notes (note_id int PRIMARY KEY, body text);
