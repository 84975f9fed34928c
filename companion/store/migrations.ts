import type { Database } from './database.ts';

/**
 * Schema changes, in order. Migration N brings the file to `PRAGMA user_version = N`. Never edit
 * a migration that has shipped: append a new one.
 */
export const migrations: readonly string[] = [
  // 1: initial schema.
  `
  CREATE TABLE peers (
    peer_id            TEXT PRIMARY KEY,
    ed25519_public_key BLOB NOT NULL,
    x25519_public_key  BLOB NOT NULL,
    endpoints          TEXT NOT NULL DEFAULT '[]',
    display_name       TEXT,
    source             TEXT NOT NULL CHECK (source IN ('invite', 'inbound')),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_connected_at  INTEGER,
    last_endpoint      TEXT
  );

  CREATE TABLE channels (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    origin_peer TEXT,
    created_at  INTEGER NOT NULL
  );
  INSERT INTO channels (id, name, description, origin_peer, created_at)
    VALUES ('general', 'general', '', NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

  CREATE TABLE events (
    local_order INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    author      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL CHECK (kind IN ('post', 'dm')),
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    source_peer TEXT,
    signed      BLOB NOT NULL,
    plain       BLOB,
    UNIQUE (author, channel, seq)
  );
  CREATE INDEX events_channel_order ON events (channel, local_order);

  CREATE TABLE heads (
    channel TEXT NOT NULL,
    author  TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (channel, author)
  ) WITHOUT ROWID;

  CREATE TABLE deliveries (
    event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    peer_id    TEXT NOT NULL,
    state      INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, peer_id)
  ) WITHOUT ROWID;
  CREATE INDEX deliveries_peer_state ON deliveries (peer_id, state);

  CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,
    name         TEXT,
    permissions  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
  );

  CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: web app accounts, browsers (devices) and idempotent sends from the web outbox.
  `
  CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
  );

  CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    public_key   BLOB NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER,
    revoked_at   INTEGER
  );

  CREATE TABLE client_sends (
    client_id  TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 3: consent (DESIGN §3a). Only trusted peers live in `peers`; everyone who was linked before the
  // rule stays linked: imported peers as 'invited', peers that connected to us as 'accepted'.
  // Strangers wait in `peer_requests` (declined ones too, so their redials are refused at once).
  `
  ALTER TABLE peers ADD COLUMN trust TEXT NOT NULL DEFAULT 'accepted'
    CHECK (trust IN ('invited', 'invite_holder', 'accepted', 'introduced'));
  UPDATE peers SET trust = 'invited' WHERE source = 'invite';
  -- 1 once a handshake proved the X25519 key: an invite may then no longer replace it.
  ALTER TABLE peers ADD COLUMN key_proven INTEGER NOT NULL DEFAULT 0 CHECK (key_proven IN (0, 1));
  UPDATE peers SET key_proven = 1 WHERE source = 'inbound' OR last_connected_at IS NOT NULL;
  -- The secret from the peer's invite, proven (never sent) when we dial it.
  ALTER TABLE peers ADD COLUMN invite_secret BLOB;

  CREATE TABLE peer_requests (
    peer_id            TEXT PRIMARY KEY,
    ed25519_public_key BLOB NOT NULL,
    x25519_public_key  BLOB NOT NULL,
    display_name       TEXT,
    endpoint           TEXT,
    requested_at       INTEGER NOT NULL,
    last_seen_at       INTEGER NOT NULL,
    declined_at        INTEGER
  );
  CREATE INDEX peer_requests_seen ON peer_requests (declined_at, last_seen_at);
  `,
  // 4: channel metadata events (kind 'channel'). SQLite cannot change a CHECK in place, so the
  // events table is rebuilt. Foreign keys stay on inside a migration's transaction, and dropping
  // the old table cascades to the rows that reference it: those are set aside and put back.
  `
  CREATE TEMP TABLE saved_deliveries AS SELECT * FROM deliveries;
  CREATE TEMP TABLE saved_client_sends AS SELECT * FROM client_sends;
  -- local_order is the web app's sync cursor: it must never go back, even past deleted rows.
  CREATE TEMP TABLE saved_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'events';
  CREATE TABLE events_v4 (
    local_order INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    author      TEXT NOT NULL,
    channel     TEXT NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    kind        TEXT NOT NULL CHECK (kind IN ('post', 'dm', 'channel')),
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    source_peer TEXT,
    signed      BLOB NOT NULL,
    plain       BLOB,
    UNIQUE (author, channel, seq)
  );
  INSERT INTO events_v4 SELECT * FROM events;
  DROP TABLE events;
  ALTER TABLE events_v4 RENAME TO events;
  CREATE INDEX events_channel_order ON events (channel, local_order);
  INSERT INTO sqlite_sequence (name, seq) SELECT 'events', seq FROM saved_sequence
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events');
  UPDATE sqlite_sequence SET seq = MAX(COALESCE(seq, 0), COALESCE((SELECT seq FROM saved_sequence), 0)) WHERE name = 'events';
  INSERT INTO deliveries SELECT * FROM saved_deliveries;
  INSERT INTO client_sends SELECT * FROM saved_client_sends;
  DROP TABLE saved_deliveries;
  DROP TABLE saved_client_sends;
  DROP TABLE saved_sequence;
  `,
  // 5: introductions (guide §9). Peers a trusted peer told us about, with keys it proved (peer ID
  // derived from the Ed25519 key, X25519 key bound by signature); and peers the user forgot, which
  // no invite secret or introduction lets back in until the user links them again.
  `
  CREATE TABLE introduced_peers (
    peer_id            TEXT PRIMARY KEY,
    ed25519_public_key BLOB NOT NULL,
    x25519_public_key  BLOB NOT NULL,
    binding            BLOB NOT NULL,
    endpoints          TEXT NOT NULL DEFAULT '[]',
    display_name       TEXT,
    device_name        TEXT,
    -- JSON array of introducers' peer IDs, most recent first.
    introduced_by      TEXT NOT NULL DEFAULT '[]',
    introduced_at      INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
  );
  CREATE INDEX introduced_peers_updated ON introduced_peers (updated_at);

  CREATE TABLE forgotten_peers (
    peer_id      TEXT PRIMARY KEY,
    forgotten_at INTEGER NOT NULL
  );
  `,
  // 6: profile cards signed by their owners, kept as received so they can be forwarded as-is. The
  // unsigned cards of direct peers (settings `peer_profile.<id>`) are gone: names now come from
  // signed cards, and until a peer sends one, from the name its unsigned card left in `peers`.
  `
  CREATE TABLE profile_cards (
    peer_id       TEXT PRIMARY KEY,
    updated_at    INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    -- The signed card's canonical JSON (the bytes its signature covers).
    signed        TEXT NOT NULL,
    received_from TEXT,
    received_at   INTEGER NOT NULL
  );
  CREATE INDEX profile_cards_received ON profile_cards (received_at);
  DELETE FROM settings WHERE substr(key, 1, 13) = 'peer_profile.';
  `,
  // 7: the event stream's journal (GET /api/v1/events): what happened besides new messages (peers up
  // and down, requests, introductions, profile and delivery changes), so a client resumes from its
  // Last-Event-ID across a restart. References and states only, no message content; the newest
  // rows are kept (docs/LIMITS.md). AUTOINCREMENT: an id is never reused, even after trimming.
  `
  CREATE TABLE notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
];

/**
 * Applies every migration newer than the file's user_version, each in its own transaction
 * together with the version bump, so a crash leaves the file at a clean version. IMMEDIATE takes
 * the write lock before re-reading the version, so two processes opening a fresh file at once
 * cannot both run the same migration.
 */
export function migrate(db: Database, list: readonly string[] = migrations): number {
  const currentVersion = (): number => db.pragma('user_version', { simple: true }) as number;
  for (let target = currentVersion() + 1; target <= list.length; target++) {
    const sql = list[target - 1]!;
    db.transaction(() => {
      if (currentVersion() >= target) return;
      db.exec(sql);
      db.pragma(`user_version = ${target}`);
    }).immediate();
  }
  const version = currentVersion();
  if (version > list.length) {
    throw new Error(`Database schema version ${version} is newer than this Canopy (knows ${list.length}); upgrade Canopy`);
  }
  return version;
}
