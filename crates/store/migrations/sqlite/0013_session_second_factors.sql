-- The kinds of second factor a session passed, so it serves an app only if its user flow
-- accepts one of them (an emailed code at one app is not an authenticator app at another).
ALTER TABLE sessions ADD COLUMN second_factors TEXT NOT NULL DEFAULT '';
