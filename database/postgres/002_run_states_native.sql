-- 002: timestep's own additions. Both columns are NULLABLE, so the original TypeScript package
-- (which names its columns on INSERT) and vanilla Node programs keep working unchanged.
--   native_data  Python's own RunState.to_json() for the same snapshot, written only together with
--                the state_data produced from it: a lossless same-language round trip.
--   writer       who produced native_data, e.g. 'python/openai-agents 0.24.0'. Python restores
--                from native_data only when this equals its own writer string.

ALTER TABLE run_states ADD COLUMN IF NOT EXISTS native_data JSONB;
ALTER TABLE run_states ADD COLUMN IF NOT EXISTS writer TEXT;
