-- The device code flow per application (Entra's "allow public client flows"): off unless an
-- operator turns it on.
ALTER TABLE applications ADD COLUMN device_code BOOLEAN NOT NULL DEFAULT FALSE;
