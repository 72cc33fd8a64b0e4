-- Back-channel and front-channel logout (OpenID Connect Back-Channel Logout 1.0 and
-- Front-Channel Logout 1.0): the URIs an app is told at, the apps each SSO session served
-- (grants are purged a day after their last token, sessions can last longer), and the outbox
-- channel that carries logout notices.
ALTER TABLE applications ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE applications ADD COLUMN frontchannel_logout_uri TEXT;

CREATE TABLE session_clients (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, session_id, client_id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO session_clients (tenant_id, session_id, client_id)
    SELECT DISTINCT g.tenant_id, g.session_id, g.client_id FROM grants g
    WHERE EXISTS (SELECT 1 FROM sessions s WHERE s.tenant_id = g.tenant_id AND s.id = g.session_id);

ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check CHECK (channel IN ('mail', 'sms', 'logout'));
