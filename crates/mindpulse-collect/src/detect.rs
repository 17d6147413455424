//! Guessing an import file's format from its first bytes.

use crate::csv_records::CsvReader;
use crate::error::CollectError;
use crate::input::{GZIP_MAGIC, ZSTD_MAGIC};
use crate::weibo_csv::is_weibo_header;
use crate::Format;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

/// How much of the file the guess looks at.
const SNIFF_BYTES: u64 = 64 * 1024;

/// Guesses the format of `path` (of what a gzip file holds): zstd magic bytes → `reddit`; a first line that is a JSON
/// object → `reddit` if it has `subreddit`, `selftext` or `body`, and `created_utc`, else
/// `jsonl`; otherwise a CSV header → `weibo-csv` if it is weibo-search's, else `csv`.
pub fn guess_format(path: &Path) -> Result<Format, CollectError> {
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
        .map_err(|e| CollectError::io(path, e))?;
    if let Some(kind) = crate::input::packed_kind(&head) {
        return Err(CollectError::Packed {
            path: path.to_path_buf(),
            kind,
        });
    }
    if head.starts_with(&GZIP_MAGIC) {
        // Guess from what the gzip file holds.
        let mut inner = Vec::new();
        crate::input::open_input(path)?
            .reader
            .take(SNIFF_BYTES)
            .read_to_end(&mut inner)
            .map_err(|e| CollectError::io(path, e))?;
        return guess_from_head(&inner, path);
    }
    guess_from_head(&head, path)
}

fn unknown(path: &Path, reason: &str) -> CollectError {
    CollectError::UnknownFormat {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn guess_from_head(head: &[u8], path: &Path) -> Result<Format, CollectError> {
    if head.starts_with(&ZSTD_MAGIC) {
        return Ok(Format::Reddit);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some((line, complete)) = first_line(head) else {
        return Err(unknown(path, "it is empty"));
    };
    match line.first() {
        Some(b'{') => Ok(if looks_like_reddit(line, complete) {
            Format::Reddit
        } else {
            Format::Jsonl
        }),
        Some(b'[') => Err(unknown(
            path,
            "it looks like one JSON array; convert it to one JSON object per line (JSONL)",
        )),
        _ => guess_csv(head, path),
    }
}

/// The first non-blank line (trimmed) and whether it ended inside the sniffed bytes.
fn first_line(head: &[u8]) -> Option<(&[u8], bool)> {
    let mut rest = head;
    while !rest.is_empty() {
        let (line, complete, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], true, &rest[i + 1..]),
            None => (rest, (head.len() as u64) < SNIFF_BYTES, &rest[rest.len()..]),
        };
        let line = line.trim_ascii();
        if !line.is_empty() {
            return Some((line, complete));
        }
        rest = next;
    }
    None
}

fn looks_like_reddit(line: &[u8], complete: bool) -> bool {
    if complete {
        if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice(line) {
            let has = |k: &str| obj.contains_key(k);
            return has("subreddit") && (has("selftext") || has("body")) && has("created_utc");
        }
    }
    // A first line too long to sniff whole: look for the keys.
    let has = |k: &str| memchr::memmem::find(line, format!("\"{k}\"").as_bytes()).is_some();
    has("subreddit") && (has("selftext") || has("body")) && has("created_utc")
}

fn guess_csv(head: &[u8], path: &Path) -> Result<Format, CollectError> {
    let mut reader = CsvReader::new(Box::new(Cursor::new(head.to_vec())), SNIFF_BYTES as usize);
    let header: Vec<String> = match reader.read_record() {
        Ok(Some(_)) => match reader.record() {
            Ok(rec) => rec.iter().map(|h| h.trim().to_string()).collect(),
            Err(_) => return Err(unknown(path, "the first line is not UTF-8 text")),
        },
        _ => return Err(unknown(path, "it has no readable first line")),
    };
    if is_weibo_header(&header) {
        return Ok(Format::WeiboCsv);
    }
    let is_csv_name = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if header.len() > 1 || is_csv_name {
        Ok(Format::Csv)
    } else {
        Err(unknown(
            path,
            "the first line is neither a JSON object nor a CSV header",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(data: &[u8], name: &str) -> Result<Format, CollectError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        guess_format(&path)
    }

    #[test]
    fn guesses_each_format() {
        let zst = zstd::encode_all(&b"{}\n"[..], 1).unwrap();
        assert_eq!(guess(&zst, "x.bin").unwrap(), Format::Reddit);
        assert_eq!(
            guess(
                b"\n{\"subreddit\":\"a\",\"body\":\"b\",\"created_utc\":1}\n",
                "x"
            )
            .unwrap(),
            Format::Reddit
        );
        assert_eq!(
            guess(
                b"{\"subreddit\":\"a\",\"title\":\"b\",\"selftext\":\"\",\"created_utc\":1}",
                "x"
            )
            .unwrap(),
            Format::Reddit
        );
        assert_eq!(
            guess(b"{\"text\":\"a\",\"subreddit\":\"x\"}\n", "x").unwrap(),
            Format::Jsonl
        );
        assert_eq!(
            guess(
                "\u{feff}id,bid,user_id,用户昵称,微博正文\n1,b,2,n,t\n".as_bytes(),
                "x"
            )
            .unwrap(),
            Format::WeiboCsv
        );
        assert_eq!(guess(b"id,text\n1,a\n", "x").unwrap(), Format::Csv);
        assert_eq!(guess(b"text\na\n", "posts.csv").unwrap(), Format::Csv);
    }

    #[test]
    fn long_first_line_uses_key_search() {
        let mut line = br#"{"subreddit":"a","created_utc":1,"body":""#.to_vec();
        line.extend(std::iter::repeat_n(b'x', 100_000));
        line.extend_from_slice(b"\"}\n");
        assert_eq!(guess(&line, "x").unwrap(), Format::Reddit);
    }

    #[test]
    fn errors_name_the_file() {
        for (data, why) in [
            (&b""[..], "empty"),
            (&b"  \n\n"[..], "empty"),
            (&b"[{\"a\":1}]"[..], "JSON array"),
            (&b"just words\n"[..], "neither"),
            (&b"\xff\xfe,\x00\n"[..], "UTF-8"),
        ] {
            let err = guess(data, "mystery.dat").unwrap_err().to_string();
            assert!(err.contains("mystery.dat"), "{err}");
            assert!(err.contains(why), "{err}");
        }
    }
}
