//! Text rendering shared by commands: the database summary of `stats` and `quickstart`,
//! and column widths for Chinese text in tables.

use mindpulse_store::{Count, Stats};

/// The human-readable database summary (`stats`, `quickstart`).
pub fn render(s: &Stats) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "posts {}  authors {}  topics {}  scores {}  (all runs {}  rejected by imports {})\n",
        s.posts, s.authors, s.topics, s.scores, s.runs, s.rejected
    ));
    if s.without_time > 0 {
        out.push_str(&format!(
            "{} posts have no time and are left out of time-based views (by day, trends)\n",
            s.without_time
        ));
    }
    let section = |out: &mut String, title: &str, rows: &[Count]| {
        if rows.is_empty() {
            return;
        }
        out.push_str(&format!("{title}:\n"));
        for c in rows {
            let pad = 28usize.saturating_sub(display_width(&c.key));
            out.push_str(&format!("  {}{} {:>10}\n", c.key, " ".repeat(pad), c.n));
        }
    };
    section(&mut out, "by platform", &s.by_platform);
    section(&mut out, "by kind", &s.by_kind);
    section(&mut out, "by language", &s.by_lang);
    section(
        &mut out,
        "duplicates (same text as an earlier post: exact, or near)",
        &s.duplicates,
    );
    section(&mut out, "top topics", &s.top_topics);
    section(
        &mut out,
        &format!("by day in {} (most recent)", s.zone),
        &s.by_day,
    );
    section(&mut out, "scores by dimension", &s.scores_by_dimension);
    section(
        &mut out,
        "encoder routing (not scores: which encoder read each post)",
        &s.routing,
    );
    out
}

/// Terminal columns a string takes: East Asian wide characters count two.
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = (0x1100..=0x115F).contains(&c)
                || (0x2E80..=0xA4CF).contains(&c)
                || (0xAC00..=0xD7A3).contains(&c)
                || (0xF900..=0xFAFF).contains(&c)
                || (0xFE30..=0xFE4F).contains(&c)
                || (0xFF00..=0xFF60).contains(&c)
                || (0xFFE0..=0xFFE6).contains(&c)
                || (0x1F300..=0x1FAFF).contains(&c)
                || (0x20000..=0x3FFFD).contains(&c);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(super::display_width("work"), 4);
        assert_eq!(super::display_width("失眠"), 4);
        assert_eq!(super::display_width("#打工人 ok"), 10);
    }
}
