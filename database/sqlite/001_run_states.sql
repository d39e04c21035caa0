-- 001: the run_states snapshot table for the embedded SQLite database. Same columns and index
-- names as the Postgres table; SQLite has no enum, UUID, JSONB or regex, so CHECK constraints
-- stand in for them. Timestamps are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' (sorts as time).

CREATE TABLE IF NOT EXISTS run_states (
  id TEXT PRIMARY KEY NOT NULL DEFAULT (
    -- a random (version 4) UUID, for writers that do not supply one
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
    substr(lower(hex(randomblob(2))), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' ||
    lower(hex(randomblob(6)))
  ),
  run_id TEXT NOT NULL,
  state_type TEXT NOT NULL
    CONSTRAINT chk_state_type CHECK (state_type IN ('interrupted', 'checkpoint', 'final')),
  schema_version TEXT NOT NULL
    CONSTRAINT chk_schema_version CHECK (
      length(schema_version) BETWEEN 3 AND 20
      AND schema_version GLOB '[0-9]*.[0-9]*'
      AND schema_version NOT GLOB '*[^0-9.]*'
      AND schema_version NOT GLOB '*.*.*'
      AND schema_version NOT GLOB '*.'
    ),
  state_data TEXT NOT NULL CONSTRAINT chk_state_data_json CHECK (json_valid(state_data)),
  is_active INTEGER NOT NULL DEFAULT 1 CONSTRAINT chk_is_active CHECK (is_active IN (0, 1)),
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  resumed_at TEXT
);

CREATE INDEX IF NOT EXISTS idx_run_states_run_id ON run_states (run_id);
CREATE INDEX IF NOT EXISTS idx_run_states_type ON run_states (state_type);
CREATE INDEX IF NOT EXISTS idx_run_states_created_at ON run_states (created_at);

-- At most one active snapshot per key (SQLite supports partial indexes too).
CREATE UNIQUE INDEX IF NOT EXISTS idx_run_states_active_unique
  ON run_states (run_id)
  WHERE is_active = 1;
