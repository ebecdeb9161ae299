-- kefu server schema, version 4: the team's roster input and its rosters, for the console.

-- The team file (the solver's TOML: posts, shifts, staff, contracts, leave, wishes), one row per
-- saved version. Only files the solver's parser accepted are stored; the newest version is the
-- team's current input. Rows are never changed, so every roster can name the input it came from.
CREATE TABLE team_files (
    team_id  INTEGER NOT NULL REFERENCES teams (id),
    version  INTEGER NOT NULL,
    toml     TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, version)
);

-- Rosters: the solver's JSON output contract (kefu_solver::output::OutcomeJson), one row per
-- generated roster, made from team file `team_version`. A draft (published_at NULL) takes the
-- supervisor's hand moves in place; publishing freezes the row for good, and a move on a
-- published roster starts a new draft version.
CREATE TABLE rosters (
    team_id      INTEGER NOT NULL REFERENCES teams (id),
    version      INTEGER NOT NULL,
    team_version INTEGER NOT NULL,
    roster_json  TEXT NOT NULL,
    made_by      TEXT NOT NULL,
    made_at      INTEGER NOT NULL,
    published_by TEXT,
    published_at INTEGER,
    PRIMARY KEY (team_id, version),
    FOREIGN KEY (team_id, team_version) REFERENCES team_files (team_id, version)
);
