-- 003: who claimed the active row for resumption (nullable; vanilla writers leave it NULL).
--   resumed_by  set together with resumed_at by a claimer that names itself, e.g.
--               'timestep:durable:<run id>' when a parked durable run receives its first
--               decision. A row whose resumed_at is set by someone else (a Node program that
--               loaded it with RunState.fromString) makes timestep refuse to resume it too.
ALTER TABLE run_states ADD COLUMN IF NOT EXISTS resumed_by TEXT;
