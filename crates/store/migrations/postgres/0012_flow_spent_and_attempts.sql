-- A finished flow is spent by a flag set in a conditional update, not by moving its expiry to
-- "now" (which a node with a slow clock would still see as live).
ALTER TABLE signin_flows ADD COLUMN spent_at BIGINT;
-- A second-factor attempt is counted before its code is checked (and taken back if the code
-- was right), so parallel guesses cannot all pass the daily limit.
ALTER TABLE second_factor_failures ADD COLUMN attempt TEXT;
CREATE INDEX second_factor_failures_by_attempt ON second_factor_failures (tenant_id, attempt);
