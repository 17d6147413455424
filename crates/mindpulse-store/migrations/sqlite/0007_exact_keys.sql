-- mindpulse schema v7: platform ids and topic keywords compare exactly. Nothing to do here:
-- this backend's text comparison is exact already (the change is MySQL/MariaDB's, whose
-- case-insensitive collation folded `AbC1` into `abc1`). Kept so versions match everywhere.
SELECT 1;
