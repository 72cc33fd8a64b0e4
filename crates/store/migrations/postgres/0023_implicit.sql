-- Which tokens an application may receive from the authorization endpoint (implicit and
-- hybrid flows): 'off', 'id-token' or 'id-token-and-token'.
ALTER TABLE applications ADD COLUMN implicit TEXT NOT NULL DEFAULT 'off';
