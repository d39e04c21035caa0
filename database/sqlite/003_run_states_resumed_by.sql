-- 003: who claimed the active row for resumption (see database/postgres/003_*.sql).
ALTER TABLE run_states ADD COLUMN resumed_by TEXT;
