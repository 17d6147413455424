-- mindpulse schema v11: accounts of the web interface (`mindpulse serve`).
-- * `users`: one row per account: a unique name, a role (viewer, reviewer, admin) and the
--   password as an Argon2id PHC string (salted; the password itself is never stored).
CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
