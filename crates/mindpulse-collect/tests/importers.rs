//! End-to-end tests of the importers over the fixtures in `tests/fixtures/` and files
//! generated at test time (zstd, invalid UTF-8, truncated files, huge lines).

use chrono::{DateTime, TimeZone, Utc};
use mindpulse_collect::{guess_format, open, FieldMap, Format, ImportOptions};
use mindpulse_core::{PostKind, RawPost, Reject};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// 2025-11-22 10:00 in UTC+8.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 22, 2, 0, 0).unwrap()
}

fn opts() -> ImportOptions {
    ImportOptions {
        now: now(),
        platform: Some("forum".into()),
        ..Default::default()
    }
}

fn run(path: &Path, format: Format, opts: &ImportOptions) -> (Vec<RawPost>, Vec<Reject>) {
    let mut source = open(path, format, opts).unwrap();
    let (mut posts, mut rejects) = (Vec::new(), Vec::new());
    for item in source.by_ref() {
        match item {
            Ok(p) => posts.push(p),
            Err(r) => rejects.push(r),
        }
    }
    let (read, total) = source.progress();
    assert_eq!(Some(read), total, "progress must reach the file size");
    (posts, rejects)
}

fn lines(rejects: &[Reject]) -> Vec<u64> {
    rejects.iter().map(|r| r.line).collect()
}

fn assert_author_stays_in_author(posts: &[RawPost]) {
    for p in posts {
        let Some(a) = &p.author else { continue };
        let mut others = vec![p.text.clone(), p.platform.clone()];
        others.extend(p.platform_id.clone());
        others.extend(p.parent_id.clone());
        others.extend(p.root_id.clone());
        others.extend(p.region.clone());
        others.extend(p.topics.iter().cloned());
        for o in others {
            assert_ne!(o, a.id, "author id leaked into another field of {p:?}");
            if let Some(name) = &a.screen_name {
                assert_ne!(&o, name, "screen name leaked into another field of {p:?}");
            }
        }
    }
}

// ----------------------------------------------------------------------------- reddit

fn check_reddit(path: &Path) {
    let (posts, rejects) = run(path, Format::Reddit, &opts());
    let ids: Vec<_> = posts
        .iter()
        .map(|p| p.platform_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["s1", "c1", "s2", "c3", "c5"]);
    assert_eq!(
        posts.iter().map(|p| p.origin.line).collect::<Vec<_>>(),
        [1, 2, 5, 7, 9]
    );
    assert_eq!(lines(&rejects), [3, 4, 8]);
    assert!(
        rejects[0].reason.contains("incomplete JSON"),
        "{}",
        rejects[0].reason
    );
    assert!(rejects[0]
        .raw
        .as_deref()
        .unwrap()
        .contains("this line is cut"));
    assert!(
        rejects[1].reason.contains("[deleted]"),
        "{}",
        rejects[1].reason
    );
    assert!(
        rejects[2].reason.contains("field \"created_utc\""),
        "{}",
        rejects[2].reason
    );
    assert!(
        !rejects[2].reason.contains("last tuesday"),
        "{}",
        rejects[2].reason
    );
    assert!(rejects.iter().all(|r| r.file == path.display().to_string()));

    let s1 = &posts[0];
    assert_eq!(s1.kind, PostKind::Post);
    assert_eq!(
        s1.text,
        "Can't sleep again\n\nThird night in a row, anyone else?"
    );
    assert_eq!(s1.topics, ["insomnia"]);
    assert_eq!((s1.like_count, s1.comment_count), (Some(15), Some(2)));
    assert_eq!(s1.platform, "reddit");
    assert_eq!(s1.origin.file, path.display().to_string());

    let c1 = &posts[1];
    assert_eq!(c1.kind, PostKind::Comment);
    assert_eq!(c1.parent_id.as_deref(), Some("s1"));
    assert_eq!(c1.root_id.as_deref(), Some("s1"));
    assert_eq!(c1.author.as_ref().unwrap().id, "synthetic_user_b");

    let s2 = &posts[2];
    assert_eq!(s2.text, "Weekly check-in thread");
    assert_eq!(s2.author.as_ref().unwrap().id, "AutoModerator");
    assert_eq!(s2.like_count, Some(7));

    let c3 = &posts[3];
    assert!(c3.author.is_none(), "[deleted] has no author");
    assert_eq!(c3.created_at.unwrap().timestamp(), 1_700_000_400);

    assert_eq!(posts[4].parent_id.as_deref(), Some("c3"));
    assert_eq!(posts[4].root_id.as_deref(), Some("s2"));
    assert_author_stays_in_author(&posts);
}

#[test]
fn reddit_plain() {
    let path = fixture("reddit_sample.ndjson");
    assert_eq!(guess_format(&path).unwrap(), Format::Reddit);
    check_reddit(&path);
}

#[test]
fn reddit_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RC_sample.zst");
    let data = std::fs::read(fixture("reddit_sample.ndjson")).unwrap();
    std::fs::write(&path, zstd::encode_all(&data[..], 19).unwrap()).unwrap();
    assert_eq!(guess_format(&path).unwrap(), Format::Reddit);
    check_reddit(&path);
}

/// A zstd frame declaring a 2 GiB window, like the Reddit dumps: raw blocks, with the
/// content size set so that decoding allocates little.
fn frame_with_window_log_31(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD];
    out.push(0b1000_0000); // 4-byte content size, no checksum, no dictionary
    out.push(21 << 3); // window log 10 + 21 = 31
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let chunks: Vec<&[u8]> = data.chunks(100_000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = u32::from(i + 1 == chunks.len());
        let header = last | ((chunk.len() as u32) << 3); // raw block
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn reddit_zstd_with_a_2gib_window() {
    // Larger than any output buffer, so zstd streams instead of decoding in one call
    // (only streaming checks the window size, and only streaming fits real dumps).
    let sample = std::fs::read(fixture("reddit_sample.ndjson")).unwrap();
    let data = sample.repeat(1000);
    let frame = frame_with_window_log_31(&data);
    assert!(
        zstd::decode_all(&frame[..]).is_err(),
        "a default decoder refuses the frame, so the test proves window_log_max"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RS_big_window.zst");
    std::fs::write(&path, frame).unwrap();
    let (posts, rejects) = run(&path, Format::Reddit, &opts());
    assert_eq!((posts.len(), rejects.len()), (5000, 3000));
    assert_eq!(posts[5].origin.line, 10);
}

#[test]
fn truncated_zstd_ends_with_a_reject() {
    let sample = std::fs::read(fixture("reddit_sample.ndjson")).unwrap();
    let mut data = Vec::new();
    let mut n = 0;
    while data.len() < 2_000_000 {
        for line in sample.split(|&b| b == b'\n') {
            if line.starts_with(b"{\"id\":\"c5\"") {
                n += 1;
                let line = String::from_utf8_lossy(line).replace("\"c5\"", &format!("\"c5-{n}\""));
                data.extend_from_slice(line.as_bytes());
                data.push(b'\n');
            }
        }
    }
    let packed = zstd::encode_all(&data[..], 1).unwrap();
    let cut = &packed[..packed.len() * 2 / 3];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("RC_truncated.zst");
    std::fs::write(&path, cut).unwrap();

    let items: Vec<_> = open(&path, Format::Reddit, &opts()).unwrap().collect();
    let posts = items.iter().filter(|i| i.is_ok()).count();
    assert!(posts > 1000, "lines before the cut are imported ({posts})");
    assert!(posts < n, "lines after the cut are not");
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        last.reason.contains("truncated compressed stream"),
        "{}",
        last.reason
    );
    assert_eq!(last.line, posts as u64 + 1);
    assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
}

// ------------------------------------------------------------------------- weibo-csv

#[test]
fn weibo_search_csv_with_bom() {
    let path = fixture("weibo_search.csv");
    assert!(std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(guess_format(&path).unwrap(), Format::WeiboCsv);
    let (posts, rejects) = run(&path, Format::WeiboCsv, &opts());

    assert_eq!(lines(&rejects), [5, 6]);
    assert!(
        rejects[0]
            .reason
            .contains("column \"点赞数\": invalid count (2 characters)"),
        "{}",
        rejects[0].reason
    );
    assert!(
        rejects[1]
            .reason
            .contains("has 5 fields but the header has 21"),
        "{}",
        rejects[1].reason
    );
    assert!(rejects[1].raw.as_deref().unwrap().contains("列数不对"));

    assert_eq!(
        posts.iter().map(|p| p.origin.line).collect::<Vec<_>>(),
        [2, 3, 7]
    );
    let p = &posts[0];
    assert_eq!(p.platform, "weibo");
    assert_eq!(p.platform_id.as_deref(), Some("5001000000000001"));
    assert_eq!(p.kind, PostKind::Post);
    assert_eq!(p.text, "最近总是失眠，#失眠# 有没有人一样");
    assert_eq!(p.topics, ["失眠", "睡眠健康"]);
    assert_eq!(
        (p.repost_count, p.comment_count, p.like_count),
        (Some(12_000), Some(0), Some(0))
    );
    let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    assert_eq!(
        p.created_at,
        Some(
            cst.with_ymd_and_hms(2025, 11, 20, 22, 15, 0)
                .unwrap()
                .to_utc()
        )
    );
    assert_eq!(p.region.as_deref(), Some("北京"));
    let a = p.author.as_ref().unwrap();
    assert_eq!(
        (a.id.as_str(), a.screen_name.as_deref(), a.verified_type),
        ("7000000001", Some("合成用户甲"), Some(0))
    );

    let r = &posts[1];
    assert_eq!(r.kind, PostKind::Repost);
    assert_eq!(r.text, "转发理由：说得对\n第二行内容");
    assert_eq!(r.parent_id.as_deref(), Some("5001000000000001"));
    assert_eq!(r.root_id.as_deref(), Some("5001000000000001"));
    assert_eq!(r.like_count, Some(1_000_000));
    assert_eq!(
        r.created_at,
        Some(
            cst.with_ymd_and_hms(2025, 11, 22, 8, 30, 0)
                .unwrap()
                .to_utc()
        )
    );
    assert_eq!(r.region.as_deref(), Some("上海"));
    assert_eq!(r.author.as_ref().unwrap().verified_type, Some(1));

    let q = &posts[2];
    assert_eq!(q.text, "心情不好 \"但会好起来\"");
    assert_eq!((q.repost_count, q.like_count), (Some(999), Some(1234)));
    assert_eq!(
        q.created_at,
        Some(
            cst.with_ymd_and_hms(2025, 11, 21, 23, 59, 0)
                .unwrap()
                .to_utc()
        )
    );
    assert_eq!(q.region.as_deref(), Some("广东"));
    assert_eq!(q.author.as_ref().unwrap().verified_type, Some(0));
    assert_author_stays_in_author(&posts);
}

#[test]
fn weibo_search_csv_old_header_and_keep_raw() {
    let path = fixture("weibo_search_old.csv");
    let o = ImportOptions {
        keep_raw: true,
        ..opts()
    };
    let (posts, rejects) = run(&path, guess_format(&path).unwrap(), &o);
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(p.text, "旧版本的导出文件");
    assert_eq!(p.region, None);
    assert_eq!(p.author.as_ref().unwrap().verified_type, None);
    assert_eq!(p.raw.as_ref().unwrap()["用户昵称"], "旧版用户");
}

// ------------------------------------------------------------------------------ jsonl

#[test]
fn jsonl_nested_map() {
    let path = fixture("nested.jsonl");
    assert_eq!(guess_format(&path).unwrap(), Format::Jsonl);
    let o = ImportOptions {
        map: FieldMap::parse(
            "id=data.id,text=data.content.0.text,author=data.user.id,author_name=data.user.screen_name,\
             followers=data.user.followers,created_at=data.created,topic=data.tags,like_count=data.stats.likes,lang=meta.lang",
        )
        .unwrap(),
        platform: Some("forum".into()),
        ..opts()
    };
    let (posts, rejects) = run(&path, Format::Jsonl, &o);
    assert_eq!(lines(&rejects), [2, 3]);
    assert_eq!(
        rejects[0].reason,
        "missing field \"text\" (path \"data.content.0.text\")"
    );
    assert!(
        rejects[1].reason.starts_with(
            "field \"like_count\" (path \"data.stats.likes\"): invalid count (4 characters)"
        ),
        "{}",
        rejects[1].reason
    );
    assert_eq!(posts.len(), 2);
    let p = &posts[0];
    assert_eq!(
        (p.platform_id.as_deref(), p.text.as_str()),
        (Some("101"), "Nested text one")
    );
    let a = p.author.as_ref().unwrap();
    assert_eq!(
        (a.id.as_str(), a.screen_name.as_deref(), a.followers),
        ("u-1", Some("alice_synthetic"), Some(15_000))
    );
    assert_eq!(
        p.created_at,
        Some(Utc.with_ymd_and_hms(2025, 11, 20, 8, 0, 0).unwrap())
    );
    assert_eq!(p.topics, ["mood", "sleep"]);
    assert_eq!(p.like_count, Some(12));
    assert_eq!(p.lang.as_deref(), Some("en"));
    assert_eq!(p.platform, "forum");
    assert_eq!(p.origin.line, 1);
    let q = &posts[1];
    assert_eq!(q.origin.line, 4);
    assert!(q.author.is_none());
    assert_eq!(q.created_at.unwrap().timestamp_millis(), 1_763_600_000_000);
    assert_eq!(q.topics, ["a", "b"]);
    assert_author_stays_in_author(&posts);
}

#[test]
fn jsonl_bad_lines_invalid_utf8_and_truncated_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"{\"id\":1,\"text\":\"ok one\"}\n").unwrap();
    f.write_all(b"{\"id\":2,\"text\":\"bad \xff\xfe bytes\"}\n")
        .unwrap();
    f.write_all(b"not json at all\n").unwrap();
    f.write_all(b"   \n").unwrap();
    f.write_all(b"{\"id\":3,\"text\":\"ok three\",\"created_at\":\"32/13/2025\"}\r\n")
        .unwrap();
    f.write_all(b"{\"id\":4,\"text\":\"ok four\"}\r\n").unwrap();
    f.write_all(b"{\"id\":5,\"text\":\"cut in the mid").unwrap();
    drop(f);

    let (posts, rejects) = run(&path, Format::Jsonl, &opts());
    assert_eq!(
        posts.iter().map(|p| p.origin.line).collect::<Vec<_>>(),
        [1, 6]
    );
    assert_eq!(lines(&rejects), [2, 3, 5, 7]);
    assert!(
        rejects[0].reason.contains("invalid UTF-8 at byte 21"),
        "{}",
        rejects[0].reason
    );
    assert!(rejects[0].raw.as_deref().unwrap().contains("bad"));
    assert!(
        rejects[1].reason.contains("invalid JSON"),
        "{}",
        rejects[1].reason
    );
    assert!(
        rejects[2].reason.contains("field \"created_at\""),
        "{}",
        rejects[2].reason
    );
    assert!(
        !rejects[2].reason.contains("32/13/2025"),
        "{}",
        rejects[2].reason
    );
    assert!(
        rejects[3].reason.contains("last line has no newline"),
        "{}",
        rejects[3].reason
    );
    assert!(
        rejects[3].reason.contains("incomplete JSON"),
        "{}",
        rejects[3].reason
    );

    // A complete last line without a newline is fine.
    std::fs::write(&path, b"{\"text\":\"a\"}\n{\"text\":\"b\"}").unwrap();
    let (posts, rejects) = run(&path, Format::Jsonl, &opts());
    assert_eq!((posts.len(), rejects.len()), (2, 0));
    assert_eq!(posts[1].origin.line, 2);
}

#[test]
fn jsonl_ten_megabyte_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(b"{\"text\":\"before\"}\n{\"text\":\"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..10 {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(b"\"}\n{\"text\":\"after\"}\n").unwrap();
    drop(f);

    let (posts, rejects) = run(&path, Format::Jsonl, &opts());
    assert_eq!(
        posts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(),
        ["before", "after"]
    );
    assert_eq!(posts[1].origin.line, 3);
    assert_eq!(lines(&rejects), [2]);
    assert!(
        rejects[0].reason.contains("10485771 bytes"),
        "{}",
        rejects[0].reason
    );
    assert!(
        rejects[0].reason.contains("max_record_bytes"),
        "{}",
        rejects[0].reason
    );
    assert!(rejects[0].raw.as_deref().unwrap().len() < 5000);
}

#[test]
fn jsonl_keep_raw_and_the_platform_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.jsonl");
    std::fs::write(
        &path,
        "{\"text\":\"t\",\"author\":\"a\",\"extra\":{\"k\":[1,2]}}\n",
    )
    .unwrap();
    let o = ImportOptions {
        keep_raw: true,
        ..opts()
    };
    let (posts, _) = run(&path, Format::Jsonl, &o);
    assert_eq!(posts[0].platform, "forum");
    assert_eq!(posts[0].raw.as_ref().unwrap()["extra"]["k"][1], 2);
    // Without --platform, a record that names none is rejected, saying what to do.
    let o = ImportOptions {
        platform: None,
        ..opts()
    };
    let (posts, rejects) = run(&path, Format::Jsonl, &o);
    assert!(posts.is_empty());
    assert!(
        rejects[0].reason.contains("--platform"),
        "{}",
        rejects[0].reason
    );
}

#[test]
fn gzip_files_are_read_and_other_archives_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("posts.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"{\"text\":\"one\"}\n{\"text\":\"two\"}\n").unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    assert_eq!(
        mindpulse_collect::guess_format(&path).unwrap(),
        Format::Jsonl
    );
    let (posts, rejects) = run(&path, Format::Jsonl, &opts());
    assert_eq!(
        posts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(),
        ["one", "two"]
    );
    assert!(rejects.is_empty());
    let xz = dir.path().join("posts.jsonl.xz");
    std::fs::write(&xz, b"\xFD7zXZ\x00\x00rest").unwrap();
    let e = mindpulse_collect::guess_format(&xz)
        .unwrap_err()
        .to_string();
    assert!(e.contains("xz-compressed") && e.contains("unpack"), "{e}");
    let e = open(&xz, Format::Jsonl, &opts()).err().unwrap().to_string();
    assert!(e.contains("xz-compressed"), "{e}");
}

// -------------------------------------------------------------------------------- csv

#[test]
fn csv_with_bad_rows() {
    let path = fixture("posts.csv");
    assert_eq!(guess_format(&path).unwrap(), Format::Csv);
    let o = ImportOptions {
        map: FieldMap::parse("like_count=likes").unwrap(),
        keep_raw: true,
        ..opts()
    };
    let (posts, rejects) = run(&path, Format::Csv, &o);
    assert_eq!(lines(&rejects), [5, 6]);
    assert!(
        rejects[0]
            .reason
            .contains("record has 7 fields but the header has 6"),
        "{}",
        rejects[0].reason
    );
    assert_eq!(
        rejects[0].raw.as_deref(),
        Some("3,too,many,fields,in,this,row")
    );
    assert!(
        rejects[1].reason.starts_with(
            "field \"created_at\" (column \"created_at\"): invalid time (10 characters)"
        ),
        "{}",
        rejects[1].reason
    );
    assert_eq!(
        posts.iter().map(|p| p.origin.line).collect::<Vec<_>>(),
        [2, 3, 7]
    );
    assert_eq!(posts[0].topics, ["mood", "sleep"]);
    assert_eq!(posts[0].like_count, Some(3));
    assert_eq!(
        posts[0].created_at,
        Some(Utc.with_ymd_and_hms(2025, 11, 20, 10, 0, 0).unwrap())
    );
    assert_eq!(posts[0].raw.as_ref().unwrap()["author"], "user-1");
    assert_eq!(posts[1].text, "Quoted, with comma\nand a second line");
    assert_eq!(posts[1].like_count, Some(12_000));
    assert_eq!(posts[2].like_count, None);
    assert_eq!(posts[2].created_at.unwrap().timestamp(), 1_763_600_000);
    assert_eq!(posts[2].author.as_ref().unwrap().id, "user-5");
    assert_author_stays_in_author(&posts);
}

#[test]
fn csv_missing_columns_fail_at_open() {
    let path = fixture("posts.csv");
    let o = ImportOptions {
        map: FieldMap::parse("text=body").unwrap(),
        ..opts()
    };
    let err = open(&path, Format::Csv, &o).err().unwrap().to_string();
    assert!(err.contains("posts.csv"), "{err}");
    assert!(err.contains("\"body\""), "{err}");
    assert!(err.contains("id, text, author"), "{err}");
    let o = ImportOptions {
        map: FieldMap::parse("lang=language").unwrap(),
        ..opts()
    };
    assert!(
        open(&path, Format::Csv, &o).is_err(),
        "an explicitly mapped column must exist"
    );
}

#[test]
fn csv_invalid_utf8_and_unterminated_quote() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        b"id,text\n1,fine\n2,bro\xffken\n3,\"never closed\n4,x\n",
    )
    .unwrap();
    let (posts, rejects) = run(&path, Format::Csv, &opts());
    assert_eq!(posts.len(), 1);
    assert_eq!(lines(&rejects), [3, 4]);
    assert!(
        rejects[0]
            .reason
            .contains("invalid UTF-8 in column 2 (\"text\")"),
        "{}",
        rejects[0].reason
    );
    assert!(
        rejects[1].reason.contains("unterminated quoted field"),
        "{}",
        rejects[1].reason
    );
}

#[test]
fn open_errors_name_the_file() {
    let err = open(Path::new("/no/such/file.jsonl"), Format::Jsonl, &opts())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("/no/such/file.jsonl"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    let err = open(&empty, Format::Csv, &opts())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("empty.csv") && err.contains("header"), "{err}");
}

#[test]
fn describe_names_format_and_file() {
    let path = fixture("posts.csv");
    let s = open(&path, Format::Csv, &opts()).unwrap();
    assert_eq!(s.describe(), format!("csv {}", path.display()));
}
