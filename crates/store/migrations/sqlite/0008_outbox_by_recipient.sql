-- The newest message to an address, so a code page can say when its delivery is failing.
CREATE INDEX outbox_by_recipient ON outbox (tenant_id, recipient, created_at);
