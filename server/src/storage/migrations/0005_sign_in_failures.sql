-- kefu server schema, version 5: failed console sign-ins, counted in the database so that every
-- process serving one database (PostgreSQL) and a restarted one see the same count. `name` is the
-- sign-in name trimmed and lower-cased; `since` (ms) is when the window of `failures` began.
CREATE TABLE sign_in_failures (
    name     TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    since    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sign_in_failures_since ON sign_in_failures (since);
