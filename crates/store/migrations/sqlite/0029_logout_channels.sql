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

-- SQLite cannot change a CHECK constraint: the outbox is rebuilt with the new channel.
CREATE TABLE outbox_new (
    id TEXT PRIMARY KEY,
    tenant_id TEXT,
    channel TEXT NOT NULL CHECK (channel IN ('mail', 'sms', 'logout')),
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT,
    discard_after BIGINT
);
INSERT INTO outbox_new (id, tenant_id, channel, recipient, payload, created_at, attempts,
                        next_attempt_at, delivered_at, last_error, discard_after)
    SELECT id, tenant_id, channel, recipient, payload, created_at, attempts, next_attempt_at,
           delivered_at, last_error, discard_after FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_by_recipient ON outbox (tenant_id, recipient, created_at);
CREATE INDEX outbox_by_channel ON outbox (tenant_id, channel, created_at);
