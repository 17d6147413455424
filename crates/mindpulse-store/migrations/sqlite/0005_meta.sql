-- mindpulse schema v5: facts about the database itself.
-- * `meta`: one value per name. `pseudonym_key_fingerprint` is a keyed hash (not the key) of
--   the pseudonym key the first writer used; a writer with another key is refused, because
--   its pseudonyms would split every author in two.
CREATE TABLE meta (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
