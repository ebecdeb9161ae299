-- kefu server schema on PostgreSQL, version 3: SQLite's version 5
-- (migrations/0005_sign_in_failures.sql), failed console sign-ins shared by every process.
CREATE TABLE sign_in_failures (
    name     TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    since    BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_since ON sign_in_failures (since);
