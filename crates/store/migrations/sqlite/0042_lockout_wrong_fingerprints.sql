-- Which remembered fingerprints a check has answered wrong; the others are attempts still in
-- flight (a double submit), which must be checked. Only a known-wrong repeat is refused
-- without checking the password again.
ALTER TABLE password_lockouts ADD COLUMN wrong_fingerprints TEXT NOT NULL DEFAULT '[]';
ALTER TABLE decoy_lockouts ADD COLUMN wrong_fingerprints TEXT NOT NULL DEFAULT '[]';
