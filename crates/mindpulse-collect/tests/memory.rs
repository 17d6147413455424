//! Memory stays bounded by `max_record_bytes`, not by the longest line: a counting global
//! allocator measures the peak heap while importing a file with a 10 MB line. (Its own
//! test binary, with a single test, so nothing else allocates meanwhile.)

use mindpulse_collect::{open, Format, ImportOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    /// Counted as growing in place (what glibc does for large blocks with `mremap`).
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = CURRENT.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak heap growth while importing `path`, and the (posts, rejects) counts.
fn peak_during_import(
    path: &std::path::Path,
    format: Format,
    opts: &ImportOptions,
) -> (usize, usize, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let (mut posts, mut rejects) = (0, 0);
    for item in open(path, format, opts).unwrap() {
        match item {
            Ok(_) => posts += 1,
            Err(_) => rejects += 1,
        }
    }
    (PEAK.load(Ordering::Relaxed) - base, posts, rejects)
}

#[test]
fn a_ten_megabyte_record_does_not_take_ten_megabytes() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("huge.jsonl");
    let csv = dir.path().join("huge.csv");
    let filler = vec![b'a'; 10 << 20];
    {
        let mut f = std::fs::File::create(&jsonl).unwrap();
        f.write_all(b"{\"text\":\"before\"}\n{\"text\":\"").unwrap();
        f.write_all(&filler).unwrap();
        f.write_all(b"\"}\n{\"text\":\"after\"}\n").unwrap();
        let mut f = std::fs::File::create(&csv).unwrap();
        f.write_all(b"id,text\n1,before\n2,\"").unwrap();
        f.write_all(&filler).unwrap();
        f.write_all(b"\"\n3,after\n").unwrap();
    }
    drop(filler);

    // Default limit (8 MiB): the buffer may grow to the limit, never to the line.
    let defaults = ImportOptions {
        platform: Some("forum".into()),
        ..Default::default()
    };
    for (path, format) in [(&jsonl, Format::Jsonl), (&csv, Format::Csv)] {
        let (peak, posts, rejects) = peak_during_import(path, format, &defaults);
        assert_eq!((posts, rejects), (2, 1), "{format}");
        eprintln!("{format}, limit 8 MiB: peak heap {peak} bytes");
        assert!(peak < 10_000_000, "{format}: peak heap {peak} bytes");
    }

    // A 1 MiB limit keeps the peak near 1 MiB plus the read buffers.
    let small = ImportOptions {
        max_record_bytes: 1 << 20,
        platform: Some("forum".into()),
        ..Default::default()
    };
    for (path, format) in [(&jsonl, Format::Jsonl), (&csv, Format::Csv)] {
        let (peak, posts, rejects) = peak_during_import(path, format, &small);
        assert_eq!((posts, rejects), (2, 1), "{format}");
        eprintln!("{format}, limit 1 MiB: peak heap {peak} bytes");
        assert!(peak < 2_000_000, "{format}: peak heap {peak} bytes");
    }
}
