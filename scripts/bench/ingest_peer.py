#!/usr/bin/env python3
"""Python standard-library peer of `mindpulse bench ingest`: what a researcher's own script
would do for the same job. Reads JSONL, normalizes text (html.unescape, zero-width chars),
redacts e-mails, phones and Chinese ID-card numbers (checksum-checked), pseudonymizes
@mentions and the author with keyed BLAKE2b, guesses the language from the Han share,
hashes the content and inserts into SQLite (WAL, INSERT OR IGNORE, 2000 rows per commit).

Usage: python3 scripts/bench/ingest_peer.py INPUT.jsonl OUTPUT.db
Prints one JSON line: {"posts": N, "seconds": S, "posts_per_s": R, "peak_rss_mib": M}.
Bad lines (invalid JSON, no text, bad count or time) are counted on stderr and skipped.
"""
import hashlib, html, json, os, re, resource, sqlite3, sys, time
from datetime import datetime, timezone

KEY = os.environ.get("MINDPULSE_PSEUDONYM_KEY", "mindpulse bench key").encode()[:64]
BATCH = 2000
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"))
BLANKS = re.compile(r"[ \t\u00a0\u3000]+")
PII = re.compile(r"""
    (?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24})
  | (?P<url>(?i:https?://|www\.)[A-Za-z0-9\-._~:/?\#\[\]@!$&'()*+,;=%]+)
  | (?<![A-Za-z0-9_])@(?P<mention>[\w\-]{1,30})
  | (?<![0-9])(?P<id>[1-8][0-9]{16}[0-9Xx])(?![0-9])
  | (?<![0-9A-Za-z])(?P<phone>(?:(?:\+|00)?86[ \-]?)?1[3-9][0-9](?:[0-9]{8}|[ \-][0-9]{4}[ \-][0-9]{4})
                  | \+[0-9](?:[ \-.()]{0,2}[0-9]){7,14})(?![0-9])
""", re.X)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
DIGIT = re.compile(r"[0-9]")
NON_KEY = re.compile(r"[\W_]+")
ZERO_WORDS = {"", "转发", "评论", "赞", "点赞", "like", "likes", "repost", "reposts", "comment", "comments"}
_pseudonyms = {}


def pseudonym(platform, raw):
    key = (platform, raw)
    p = _pseudonyms.get(key)
    if p is None:
        p = hashlib.blake2b(f"{platform}\0{raw}".encode(), key=KEY, digest_size=12).hexdigest()
        _pseudonyms[key] = p
    return p


def redact(text, platform):
    def sub(m):
        kind = m.lastgroup
        if kind == "url":
            return m.group(0)
        if kind == "mention":
            return "@" + pseudonym(platform, m.group("mention").lower())
        if kind == "id":
            s = m.group("id").upper()
            check = "10X98765432"[sum(int(c) * w for c, w in zip(s, ID_WEIGHTS)) % 11]
            return "[ID_CARD]" if s[17] == check else m.group(0)
        return "[EMAIL]" if kind == "email" else "[PHONE]"
    return PII.sub(sub, text) if ("@" in text or DIGIT.search(text)) else text


def count(v):
    if v is None or isinstance(v, int) and not isinstance(v, bool):
        return v
    if not isinstance(v, str):
        raise ValueError(f"bad count {v!r}")
    s = v.strip().rstrip("+").replace(",", "")
    if s.lower() in ZERO_WORDS:
        return 0
    for unit, mul in (("万", 10_000), ("亿", 100_000_000), ("w", 10_000)):
        if s.endswith(unit):
            return round(float(s[: -len(unit)]) * mul)
    return int(s)


def convert(line):
    r = json.loads(line)
    text = r.get("text") if isinstance(r, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ValueError("missing text")
    text = BLANKS.sub(" ", html.unescape(text).translate(ZERO_WIDTH)).strip()
    platform = str(r.get("platform") or "import")
    created = r.get("created_at")
    if created is not None:
        created = datetime.fromisoformat(created).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    clean = redact(text, platform)
    han, latin = len(HAN.findall(clean)), len(LATIN.findall(clean))
    lang = "zh" if han and han * 4 >= latin else "en" if latin else "und"
    digest = hashlib.blake2b(NON_KEY.sub("", clean.lower()).encode(), digest_size=16).digest()
    author = r.get("author")
    topics = r.get("topic")
    return (platform, str(r.get("id") or digest.hex()), r.get("kind") or ("comment" if r.get("parent_id") else "post"),
            r.get("parent_id"), None if author is None else pseudonym(platform, str(author)), clean, lang, created,
            count(r.get("like_count")), count(r.get("repost_count")), count(r.get("comment_count")),
            r.get("region"), json.dumps(topics, ensure_ascii=False) if topics else None, digest)


def main(src, dst):
    start = time.perf_counter()
    db = sqlite3.connect(dst)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("""CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, platform TEXT NOT NULL,
        platform_id TEXT NOT NULL, kind TEXT, parent_platform_id TEXT, author TEXT, text TEXT NOT NULL,
        lang TEXT, created_at TEXT, like_count INTEGER, repost_count INTEGER, comment_count INTEGER,
        region TEXT, topics TEXT, content_hash BLOB, UNIQUE (platform, platform_id))""")
    db.execute("CREATE INDEX IF NOT EXISTS posts_created_at ON posts (created_at)")
    sql = "INSERT OR IGNORE INTO posts (platform, platform_id, kind, parent_platform_id, author, text, lang, " \
          "created_at, like_count, repost_count, comment_count, region, topics, content_hash) " \
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    posts = bad = 0
    rows = []
    with open(src, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rows.append(convert(line))
            except (ValueError, TypeError, AttributeError):  # json.JSONDecodeError is a ValueError
                bad += 1
                continue
            if len(rows) == BATCH:
                db.executemany(sql, rows)
                db.commit()
                posts += len(rows)
                rows.clear()
    db.executemany(sql, rows)
    db.commit()
    posts += len(rows)
    db.close()
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if bad:
        print(f"ingest_peer: skipped {bad} bad lines", file=sys.stderr)
    print(json.dumps({"posts": posts, "seconds": round(seconds, 3),
                      "posts_per_s": round(posts / max(seconds, 1e-9), 1), "peak_rss_mib": round(rss, 1)}))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: ingest_peer.py INPUT.jsonl OUTPUT.db")
    main(sys.argv[1], sys.argv[2])
