-- Whether an extension serves every app of its tenant, said in so many words: an extension
-- attached to apps that are all deleted serves none (it must not widen to every app).
ALTER TABLE extensions ADD COLUMN all_apps BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE extensions SET all_apps = TRUE WHERE NOT EXISTS
    (SELECT 1 FROM extension_apps a WHERE a.tenant_id = extensions.tenant_id AND a.extension_id = extensions.id);
