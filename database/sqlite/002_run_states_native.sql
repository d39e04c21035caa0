-- 002: timestep's own additions, nullable (see postgres/002_run_states_native.sql).

ALTER TABLE run_states ADD COLUMN native_data TEXT
  CONSTRAINT chk_native_data_json CHECK (native_data IS NULL OR json_valid(native_data));
ALTER TABLE run_states ADD COLUMN writer TEXT;
