-- kefu server schema, version 3: what the supervisor console needs.

-- The case board searches by customer (name, phone) as well as number and subject. The phone is
-- also kept as its digits alone, so 13800000000 finds 138-0000-0000. Rows indexed before this
-- version are filled in by storage/sqlite.rs right after this migration (it reads the documents).
ALTER TABLE case_index ADD COLUMN customer_name TEXT NOT NULL DEFAULT '';
ALTER TABLE case_index ADD COLUMN customer_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE case_index ADD COLUMN phone_digits TEXT NOT NULL DEFAULT '';
CREATE INDEX case_index_provisional ON case_index (team_id, provisional);

-- People who sign in to the console (supervisors, admins). Devices never do: their tokens are in
-- `devices` and are refused by the sign-in form. `password` is an argon2id PHC string.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    role       TEXT NOT NULL CHECK (role IN ('supervisor', 'admin')),
    password   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Signed-in browsers. Only a SHA-256 of the cookie's secret is kept; `csrf` is the token every
-- state-changing request of the session must carry.
CREATE TABLE web_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_user ON web_sessions (user_id);
