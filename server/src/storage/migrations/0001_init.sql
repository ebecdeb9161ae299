-- kefu server schema, version 1. Applied once by storage/sqlite.rs (PRAGMA user_version).
-- Timestamps are milliseconds since the Unix epoch, UTC.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- seq is the team's change sequence: bumped once per document stored, so a device's cursor
-- finds what changed since with one index range scan.
CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    seq        INTEGER NOT NULL DEFAULT 0
);

-- Only a salted hash of each token is kept; the token itself is shown once.
CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    role       TEXT NOT NULL CHECK (role IN ('staff', 'supervisor', 'admin')),
    label      TEXT NOT NULL,
    token_salt BLOB NOT NULL,
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX devices_team ON devices (team_id);
CREATE INDEX devices_revoked ON devices (revoked_at) WHERE revoked_at IS NOT NULL;

-- One row per document of a team (case UUID or duty-log id), whole document bytes.
CREATE TABLE docs (
    team_id    INTEGER NOT NULL REFERENCES teams (id),
    id         TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE UNIQUE INDEX docs_team_seq ON docs (team_id, seq);
CREATE INDEX docs_id ON docs (id);

-- The heads each device is known to hold, so a reply sends only what it lacks.
CREATE TABLE device_doc_heads (
    device_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    heads     BLOB NOT NULL,
    PRIMARY KEY (device_id, doc_id)
);

-- Server-assigned case numbers K<year>-<serial>, one counter per team and year.
CREATE TABLE case_counters (
    team_id INTEGER NOT NULL REFERENCES teams (id),
    year    INTEGER NOT NULL,
    next    INTEGER NOT NULL,
    PRIMARY KEY (team_id, year)
);

-- The supervisor's view: one row per case, rewritten in the round that stores the case.
CREATE TABLE case_index (
    team_id          INTEGER NOT NULL REFERENCES teams (id),
    case_id          TEXT NOT NULL,
    provisional      TEXT NOT NULL,
    assigned         TEXT,
    kind             TEXT NOT NULL,
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    status_conflict  INTEGER NOT NULL,
    priority         TEXT NOT NULL,
    assignee         TEXT,
    department       TEXT,
    subject          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    reply_due        INTEGER,
    reply_done_at    INTEGER,
    visit_due        INTEGER,
    visit_done_at    INTEGER,
    PRIMARY KEY (team_id, case_id)
);
CREATE INDEX case_index_status ON case_index (team_id, status, created_at);
CREATE INDEX case_index_assignee ON case_index (team_id, assignee);
CREATE INDEX case_index_created ON case_index (team_id, created_at);
