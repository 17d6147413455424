-- mindpulse schema v6: exact duplicates flagged across processes.
-- * `posts_content_hash`: after each stored batch, a writer flags every unflagged post whose
--   text an earlier post (smaller id) already has, whichever process stored that one. Two
--   imports running at once each keep their own duplicate index in memory, so without this
--   neither would flag the other's copies.
CREATE INDEX posts_content_hash ON posts (content_hash);
