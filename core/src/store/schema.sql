-- Device store, format 3 (older stores are migrated in CaseStore::open). One SQLite file in WAL mode with synchronous=FULL:
-- a commit returns only after the WAL is fsync'd, so a returned write survives
-- a crash at any instant (SQLite's own atomic-commit guarantee).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- A document is its last snapshot (automerge save()) plus the incremental chunks
-- written since (save_after), replayed in seq order on load.
CREATE TABLE docs (
    id        TEXT PRIMARY KEY,
    doc_type  TEXT NOT NULL CHECK (doc_type IN ('case', 'duty_log', 'roster', 'request', 'attendance')),
    snapshot  BLOB NOT NULL,
    n_changes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE changes (
    doc_id TEXT NOT NULL REFERENCES docs(id),
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) WITHOUT ROWID;

-- One row per case, rewritten in the same transaction as every change to it, so
-- listing and filtering never load documents.
CREATE TABLE case_index (
    id            TEXT PRIMARY KEY,
    provisional   TEXT NOT NULL,
    assigned      TEXT,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    assignee      TEXT,
    department    TEXT,
    priority      TEXT NOT NULL,
    subject       TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    reply_due     INTEGER,
    reply_done    INTEGER,
    visit_due     INTEGER,
    visit_done    INTEGER,
    has_conflict  INTEGER NOT NULL,
    -- lower-cased subject, customer name, phone, address, numbers and tags
    search_text   TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX case_index_status ON case_index (status, updated_at);
CREATE INDEX case_index_assignee ON case_index (assignee, updated_at);
CREATE INDEX case_index_kind ON case_index (kind, updated_at);
CREATE INDEX case_index_updated ON case_index (updated_at);

CREATE TABLE duty_index (
    id         TEXT PRIMARY KEY,
    date       TEXT NOT NULL,
    shift      TEXT NOT NULL,
    n_handover INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX duty_index_date ON duty_index (date);

-- Sync state per document: the heads the server is known to hold, and whether
-- this device has changes it has not acknowledged. Dirty documents are found
-- through the partial index, so preparing a round never walks every document.
CREATE TABLE sync_docs (
    doc_id          TEXT PRIMARY KEY,
    acked_heads     BLOB,             -- NULL: the server has never acknowledged it
    dirty           INTEGER NOT NULL,
    refused_code    TEXT,             -- last refusal, kept until the document changes
    refused_message TEXT,
    refused_heads   BLOB,
    report          INTEGER NOT NULL DEFAULT 0  -- received since the server was last told what we hold
) WITHOUT ROWID;
CREATE INDEX sync_docs_dirty ON sync_docs (dirty) WHERE dirty = 1;
CREATE INDEX sync_docs_report ON sync_docs (report) WHERE report = 1;
