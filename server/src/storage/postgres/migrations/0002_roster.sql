-- kefu server schema on PostgreSQL, version 2: SQLite's version 4 (migrations/0004_roster.sql),
-- the team's roster input and its rosters for the console, in PostgreSQL's types.

CREATE TABLE team_files (
    team_id  BIGINT NOT NULL REFERENCES teams (id),
    version  BIGINT NOT NULL,
    toml     TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, version)
);

CREATE TABLE rosters (
    team_id      BIGINT NOT NULL REFERENCES teams (id),
    version      BIGINT NOT NULL,
    team_version BIGINT NOT NULL,
    roster_json  TEXT NOT NULL,
    made_by      TEXT NOT NULL,
    made_at      BIGINT NOT NULL,
    published_by TEXT,
    published_at BIGINT,
    PRIMARY KEY (team_id, version),
    FOREIGN KEY (team_id, team_version) REFERENCES team_files (team_id, version)
);
