-- kefu server schema, version 2: sync state the device confirms (protocol 2).

-- Every sequence number a team has issued, with a random stamp. A device's cursor carries the
-- stamp; after a restore from an older backup the same numbers are issued again with other
-- stamps, so a cursor from the lost history is recognised. Rows are never deleted: a cursor
-- may point at a number whose document has moved on.
CREATE TABLE seq_stamps (
    team_id INTEGER NOT NULL REFERENCES teams (id),
    seq     INTEGER NOT NULL,
    stamp   INTEGER NOT NULL,
    PRIMARY KEY (team_id, seq)
) WITHOUT ROWID;
INSERT INTO seq_stamps (team_id, seq, stamp) SELECT team_id, seq, (random() & 9223372036854775807) | 1 FROM docs;

-- The device store that last synced under each token, and the highest generation (count of its
-- pushes) it sent. A new store id (reinstalled app) or a lower generation (phone restored from a
-- backup) forgets the heads recorded for the device.
CREATE TABLE device_stores (
    device_id TEXT PRIMARY KEY,
    store_id  BLOB NOT NULL,
    generation INTEGER NOT NULL
);

-- Version 1 recorded the heads it had sent, not what devices confirmed: none of it can be trusted.
DELETE FROM device_doc_heads;

-- The staff member a device is issued to: the author every new entry it pushes must name.
ALTER TABLE devices ADD COLUMN staff TEXT;

-- Which case holds a server number: after a restore, a number drawn again is found and the
-- returning case that held it is numbered anew.
CREATE INDEX case_index_assigned ON case_index (team_id, assigned);
