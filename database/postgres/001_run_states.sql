-- 001: the run_states snapshot table, exactly as the original TypeScript package creates it
-- (typescript/timestep/stores/shared/schema.ts): same enum, columns, constraint and index names,
-- so a database already initialised by the TypeScript package is accepted as it is, and the
-- TypeScript package accepts a database initialised here. Every statement is idempotent because
-- either side may have run first.

DO $$
BEGIN
  CREATE TYPE run_state_type_enum AS ENUM ('interrupted', 'checkpoint', 'final');
EXCEPTION
  WHEN duplicate_object THEN NULL;
END
$$;

CREATE TABLE IF NOT EXISTS run_states (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  run_id TEXT NOT NULL,
  state_type run_state_type_enum NOT NULL,
  schema_version VARCHAR(20) NOT NULL,
  state_data JSONB NOT NULL,
  is_active BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMP NOT NULL DEFAULT NOW(),
  resumed_at TIMESTAMP,
  CONSTRAINT chk_schema_version CHECK (schema_version ~ '^[0-9]+\.[0-9]+$')
);

CREATE INDEX IF NOT EXISTS idx_run_states_run_id ON run_states (run_id);
CREATE INDEX IF NOT EXISTS idx_run_states_type ON run_states (state_type);
CREATE INDEX IF NOT EXISTS idx_run_states_created_at ON run_states (created_at);
CREATE INDEX IF NOT EXISTS idx_run_states_gin ON run_states USING GIN (state_data);

-- At most one active snapshot per key: the database itself refuses a second one.
CREATE UNIQUE INDEX IF NOT EXISTS idx_run_states_active_unique
  ON run_states (run_id)
  WHERE is_active = true;
