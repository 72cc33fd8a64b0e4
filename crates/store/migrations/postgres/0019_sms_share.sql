-- Which share of a tenant's SMS budget a text is counted against: 'new' (registering a number,
-- or a code to one registered less than a day ago) or 'known'; NULL for mail. Texts to new
-- numbers are limited to a share so fresh accounts cannot use up the texts of sign-ins.
ALTER TABLE otp_challenges ADD COLUMN sms_share TEXT CHECK (sms_share IN ('new', 'known'));
UPDATE otp_challenges SET sms_share = CASE WHEN purpose = 'verify_contact' THEN 'new' ELSE 'known' END
WHERE subject LIKE '+%';
CREATE INDEX otp_challenges_by_share ON otp_challenges (tenant_id, sms_share, created_at)
WHERE sms_share IS NOT NULL;
-- Texts to one number in an hour, whatever their purpose.
CREATE INDEX otp_challenges_by_number ON otp_challenges (tenant_id, subject, created_at)
WHERE sms_share IS NOT NULL;
