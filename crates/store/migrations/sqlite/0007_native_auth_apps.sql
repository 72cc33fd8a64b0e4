-- Apps that may call the native-authentication API (public clients only), and the browser
-- origins allowed to call it cross-origin (CORS), a JSON list.
ALTER TABLE applications ADD COLUMN native_auth BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE applications ADD COLUMN cors_origins TEXT NOT NULL DEFAULT '[]';
