//! The rollups read model: posts counted per UTC hour × metric × group × platform ×
//! language × duplicate-or-not, with what the corrected estimators need (posts, flagged
//! posts, sums of probabilities and of their squares), so that `trends`, alert scans and the
//! dashboard read a few thousand rows instead of every post.
//!
//! Kept current incrementally: [`Store::finish_run`] refreshes the hours that an import,
//! crawl or score run touched (delete those hours, re-aggregate them from `posts` and
//! `scores` in one transaction), and purges refresh the hours they emptied.
//! [`Store::rebuild_rollups`] recomputes everything (`mindpulse rollups rebuild`); a
//! database that already had posts when the rollups arrived (schema v8) is marked not built
//! until then, and readers fall back to scanning posts.
//!
//! Hours are UTC. A bucket of a time zone whose offset is a whole number of hours is a
//! union of whole UTC hours; readers check that before they use the rollups (and scan posts
//! otherwise), so an answer from the rollups equals the scan's exactly.
//!
//! Known gap: an exact duplicate flagged later by another, concurrent writer (see
//! `twins.rs`) is counted as an original in the hour of that post until its own run — or a
//! rebuild — refreshes it.

use crate::{on_pool, Backend, Store, StoreError};
use chrono::{DateTime, TimeZone, Utc};

/// Seconds per slot.
pub const SLOT_SECONDS: i64 = 3600;

/// The slot (hours since the epoch) of a time.
pub fn slot_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(SLOT_SECONDS)
}

/// The start of a slot.
pub fn slot_start(slot: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(slot.checked_mul(SLOT_SECONDS)?, 0)
        .single()
}

/// What a refresh recounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshScope {
    /// Volume and every scorer's scores.
    All,
    /// Volume only (posts were added; no score changed).
    Volume,
    /// One scorer's scores only (volume stays as it is).
    Scorer(i64),
}

/// How a rollup read groups its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollupGroup {
    None,
    Platform,
    Lang,
    Region,
    Topic,
}

impl RollupGroup {
    fn kind(self) -> &'static str {
        match self {
            RollupGroup::None | RollupGroup::Platform | RollupGroup::Lang => "none",
            RollupGroup::Region => "region",
            RollupGroup::Topic => "topic",
        }
    }
}

/// What to read from the rollups.
#[derive(Debug, Clone)]
pub struct RollupQuery<'a> {
    /// `(scorer, dimension)`; None for volume.
    pub score: Option<(i64, &'a str)>,
    pub group: RollupGroup,
    /// First slot (inclusive) and end slot (exclusive).
    pub since_slot: Option<i64>,
    pub until_slot: Option<i64>,
    pub platform: Option<&'a str>,
    pub no_duplicates: bool,
    /// Sum the hours into local days or weeks in SQL (a zone with one fixed whole-hour
    /// offset over the window); None: one cell per hour.
    pub fold: Option<Fold>,
}

/// Hours summed into the buckets of a fixed-offset zone: each cell then carries the
/// first hour of its bucket (that has posts) as its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fold {
    /// The zone's offset from UTC in whole hours.
    pub offset_hours: i64,
    pub per: FoldBy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldBy {
    Day,
    /// ISO weeks, from Monday.
    Week,
    /// One bucket for the whole window.
    All,
}

/// One cell: an hour × group × language (× platform when grouped by it).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RollupCell {
    pub slot: i64,
    /// The region or topic keyword (None: no region / no topic / not grouped by them).
    pub grp: Option<String>,
    /// Set when grouped by platform.
    pub platform: Option<String>,
    pub lang: Option<String>,
    pub n: i64,
    pub flagged: i64,
    pub sum_p: f64,
    pub sum_p2: f64,
}

impl Store {
    /// Whether the rollups are current (built, and not invalidated by a failed refresh).
    pub async fn rollups_built(&self) -> Result<bool, StoreError> {
        let built: Option<i64> = on_pool!(&self.pool, p => {
            sqlx::query_scalar(&self.dialect.sql(&format!(
                "SELECT CAST(built AS {}) FROM rollup_state WHERE id = 1",
                self.int_type()
            )))
            .fetch_optional(p)
            .await?
        });
        Ok(built == Some(1))
    }

    /// Recomputes every rollup from the stored posts and scores, and marks them built.
    pub async fn rebuild_rollups(&self) -> Result<(), StoreError> {
        self.refresh_rollups(None, RefreshScope::All).await
    }

    /// Recomputes the hours that posts created in `[first, last]` (both inclusive) fall in
    /// (all hours when None), for what `scope` names.
    pub async fn refresh_rollups(
        &self,
        range: Option<(DateTime<Utc>, DateTime<Utc>)>,
        scope: RefreshScope,
    ) -> Result<(), StoreError> {
        let scorer = match scope {
            RefreshScope::Scorer(id) => Some(id),
            RefreshScope::All | RefreshScope::Volume => None,
        };
        let volume_only = scope == RefreshScope::Volume;
        let d = self.dialect;
        let slots = range.map(|(a, b)| (slot_of(a), slot_of(b)));
        let bounds = slots.and_then(|(lo, hi)| Some((slot_start(lo)?, slot_start(hi + 1)?)));
        let slot = self.slot_expr("p.created_at");
        let dup = "CASE WHEN p.dup_kind IS NULL THEN 0 ELSE 1 END";
        let mut delete = "DELETE FROM rollups WHERE 1 = 1".to_string();
        if slots.is_some() {
            delete.push_str(" AND slot >= ? AND slot <= ?");
        }
        if scorer.is_some() {
            delete.push_str(" AND scorer_id = ?");
        }
        if volume_only {
            delete.push_str(" AND scorer_id = 0");
        }
        let mut window = " WHERE p.created_at IS NOT NULL".to_string();
        if bounds.is_some() {
            window.push_str(" AND p.created_at >= ? AND p.created_at < ?");
        }
        // (statement, whether it binds the scorer)
        let mut inserts: Vec<(String, bool)> = Vec::new();
        let kinds: [(&str, &str, &str); 3] = [
            ("none", "NULL", ""),
            ("region", "p.region", ""),
            (
                "topic",
                "t.keyword",
                " LEFT JOIN post_topics pt ON pt.post_id = p.id LEFT JOIN topics t ON t.id = pt.topic_id",
            ),
        ];
        for (kind, grp, joins) in kinds {
            let mut text_keys = vec!["p.platform", "p.lang"];
            if grp != "NULL" {
                text_keys.push(grp);
            }
            if scorer.is_none() {
                inserts.push((
                    format!(
                        "INSERT INTO rollups (scorer_id, dimension, grp_kind, grp, slot, platform, lang, dup, n, flagged, sum_p, sum_p2) \
                         SELECT 0, '', '{kind}', {grp}, {slot}, p.platform, p.lang, {dup}, COUNT(*), 0, 0, 0 \
                         FROM posts p{joins}{window} GROUP BY {}",
                        self.exact_keys(&[slot.as_str(), dup], &text_keys)
                    ),
                    false,
                ));
            }
            if volume_only {
                continue;
            }
            let mut score_text_keys = vec!["s.dimension"];
            score_text_keys.extend(text_keys.iter());
            inserts.push((
                format!(
                    "INSERT INTO rollups (scorer_id, dimension, grp_kind, grp, slot, platform, lang, dup, n, flagged, sum_p, sum_p2) \
                     SELECT s.scorer_id, s.dimension, '{kind}', {grp}, {slot}, p.platform, p.lang, {dup}, COUNT(*), \
                     SUM(CASE WHEN s.label = 'yes' THEN 1 ELSE 0 END), SUM(s.value), SUM(s.value * s.value) \
                     FROM posts p JOIN scores s ON s.post_id = p.id{}{joins}{window} GROUP BY {}",
                    if scorer.is_some() { " AND s.scorer_id = ?" } else { "" },
                    self.exact_keys(&["s.scorer_id", slot.as_str(), dup], &score_text_keys)
                ),
                scorer.is_some(),
            ));
        }
        let built = if range.is_none() && scope == RefreshScope::All {
            ", built = 1"
        } else {
            ""
        };
        let lock = format!("UPDATE rollup_state SET version = version + 1{built} WHERE id = 1");
        on_pool!(&self.pool, p => {
            let mut tx = p.begin_with(d.begin_write()).await?;
            sqlx::query(&lock).execute(&mut *tx).await?;
            let delete = d.sql(&delete);
            let mut q = sqlx::query(delete.as_ref());
            if let Some((lo, hi)) = slots {
                q = q.bind(lo).bind(hi);
            }
            if let Some(s) = scorer {
                q = q.bind(s);
            }
            q.execute(&mut *tx).await?;
            for (sql, binds_scorer) in &inserts {
                let sql = d.sql(sql);
                let mut q = sqlx::query(sql.as_ref());
                if *binds_scorer {
                    q = q.bind(scorer);
                }
                if let Some((a, b)) = bounds {
                    q = q.bind(a).bind(b);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Brings the rollups up to date with what run `run_id` stored (posts of an import or
    /// crawl, scores of a score run). Nothing to do while the rollups are not built. A
    /// refresh that fails marks them not built, so readers scan posts instead of reading
    /// stale numbers, and the error is returned.
    pub async fn refresh_rollups_after_run(&self, run_id: i64) -> Result<(), StoreError> {
        if !self.rollups_built().await? {
            return Ok(());
        }
        let result = self.refresh_run(run_id).await;
        if result.is_err() {
            self.invalidate_rollups().await?;
        }
        result
    }

    async fn refresh_run(&self, run_id: i64) -> Result<(), StoreError> {
        #[derive(sqlx::FromRow)]
        struct RunKindRow {
            kind: String,
            scorer_id: Option<i64>,
        }
        #[derive(sqlx::FromRow)]
        struct Range {
            first: Option<DateTime<Utc>>,
            last: Option<DateTime<Utc>>,
        }
        let run: Option<RunKindRow> = on_pool!(&self.pool, p => {
            sqlx::query_as(&self.dialect.sql("SELECT kind, scorer_id FROM runs WHERE id = ?"))
                .bind(run_id)
                .fetch_optional(p)
                .await?
        });
        let Some(run) = run else { return Ok(()) };
        let posts_of_run =
            "SELECT MIN(created_at) AS first, MAX(created_at) AS last FROM posts WHERE run_id = ?";
        let (sql, scope) = match (run.kind.as_str(), run.scorer_id) {
            // An import adds posts and changes no stored one (their scores are counted when
            // the run that scores them ends).
            ("import", _) => (posts_of_run, RefreshScope::Volume),
            // A crawl also refreshes stored posts' counts and region.
            ("crawl", _) => (posts_of_run, RefreshScope::All),
            ("score", Some(scorer)) => (
                "SELECT MIN(p.created_at) AS first, MAX(p.created_at) AS last FROM scores s \
                 JOIN posts p ON p.id = s.post_id WHERE s.run_id = ?",
                RefreshScope::Scorer(scorer),
            ),
            _ => return Ok(()),
        };
        let range: Range = on_pool!(&self.pool, p => {
            sqlx::query_as(&self.dialect.sql(sql)).bind(run_id).fetch_one(p).await?
        });
        match (range.first, range.last) {
            (Some(a), Some(b)) => self.refresh_rollups(Some((a, b)), scope).await,
            _ => Ok(()),
        }
    }

    /// Marks the rollups not built (readers scan posts until `rollups rebuild`).
    pub async fn invalidate_rollups(&self) -> Result<(), StoreError> {
        on_pool!(&self.pool, p => {
            sqlx::query("UPDATE rollup_state SET built = 0 WHERE id = 1")
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// The cells of one metric in a slot window, summed over what the query does not group
    /// by, in slot order.
    pub async fn rollup_cells(&self, q: &RollupQuery<'_>) -> Result<Vec<RollupCell>, StoreError> {
        let int = self.int_type();
        let div = match self.dialect.backend {
            Backend::MySql => "DIV",
            Backend::Sqlite | Backend::Postgres => "/",
        };
        // 1970-01-01 was a Thursday: local day + 3, divided by 7, counts weeks from Monday.
        let (slot_col, slot_key) = match q.fold {
            None => ("slot".to_string(), "slot".to_string()),
            Some(f) => {
                let day = format!("((slot + ({})) {div} 24)", f.offset_hours);
                let key = match f.per {
                    FoldBy::Day => day,
                    FoldBy::Week => format!("(({day} + 3) {div} 7)"),
                    // A constant, but not a literal (which GROUP BY reads as a column number).
                    FoldBy::All => "(slot * 0)".to_string(),
                };
                ("MIN(slot)".to_string(), key)
            }
        };
        let mut sql = format!(
            "SELECT {slot_col} AS slot, grp, {} AS platform, lang, CAST(SUM(n) AS {int}) AS n, \
             CAST(SUM(flagged) AS {int}) AS flagged, SUM(sum_p) AS sum_p, SUM(sum_p2) AS sum_p2 \
             FROM rollups WHERE scorer_id = ? AND dimension = ? AND grp_kind = ?",
            if q.group == RollupGroup::Platform {
                "platform"
            } else {
                "NULL"
            }
        );
        if q.since_slot.is_some() {
            sql.push_str(" AND slot >= ?");
        }
        if q.until_slot.is_some() {
            sql.push_str(" AND slot < ?");
        }
        if q.platform.is_some() {
            sql.push_str(&format!(" AND {}", self.dialect.exact_eq_col("platform")));
        }
        if q.no_duplicates {
            sql.push_str(" AND dup = 0");
        }
        let mut keys = vec!["grp", "lang"];
        if q.group == RollupGroup::Platform {
            keys.push("platform");
        }
        sql.push_str(&format!(
            " GROUP BY {} ORDER BY 1",
            self.exact_keys(&[slot_key.as_str()], &keys)
        ));
        let sql = self.dialect.sql(&sql);
        let (scorer, dimension) = q.score.unwrap_or((0, ""));
        let rows: Vec<RollupCell> = on_pool!(&self.pool, p => {
            let mut query = sqlx::query_as(&sql)
                .bind(scorer)
                .bind(dimension)
                .bind(q.group.kind());
            if let Some(s) = q.since_slot {
                query = query.bind(s);
            }
            if let Some(u) = q.until_slot {
                query = query.bind(u);
            }
            if let Some(pf) = q.platform {
                query = query.bind(pf);
                if self.dialect.exact_binds_twice() {
                    query = query.bind(pf);
                }
            }
            query.fetch_all(p).await?
        });
        Ok(rows)
    }

    /// The first and last slot with any rollup (None when there are none).
    pub async fn rollup_span(&self) -> Result<Option<(i64, i64)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Span {
            lo: Option<i64>,
            hi: Option<i64>,
        }
        let span: Span = on_pool!(&self.pool, p => {
            // Two subqueries: each is one index lookup (MIN and MAX together scan the table).
            sqlx::query_as(
                "SELECT (SELECT MIN(slot) FROM rollups) AS lo, (SELECT MAX(slot) FROM rollups) AS hi",
            )
                .fetch_one(p)
                .await?
        });
        Ok(span.lo.zip(span.hi))
    }

    /// The SQL integer type a `CAST` produces 64-bit integers with.
    fn int_type(&self) -> &'static str {
        match self.dialect.backend {
            Backend::MySql => "SIGNED",
            Backend::Sqlite | Backend::Postgres => "BIGINT",
        }
    }

    /// Hours since the epoch of a timestamp column.
    fn slot_expr(&self, col: &str) -> String {
        match self.dialect.backend {
            Backend::Sqlite => format!("(CAST(strftime('%s', {col}) AS INTEGER) / 3600)"),
            Backend::MySql => format!("TIMESTAMPDIFF(HOUR, '1970-01-01 00:00:00', {col})"),
            Backend::Postgres => {
                format!("CAST(FLOOR(EXTRACT(EPOCH FROM {col}) / 3600) AS BIGINT)")
            }
        }
    }

    /// GROUP BY keys: `plain` as they are, `text` kept apart when they differ only in case
    /// or accents (MySQL's collation would fold them together; the other backends compare
    /// exactly).
    fn exact_keys(&self, plain: &[&str], text: &[&str]) -> String {
        let mut keys: Vec<String> = plain.iter().map(|k| k.to_string()).collect();
        for k in text {
            keys.push(k.to_string());
            if self.dialect.backend == Backend::MySql {
                keys.push(format!("CAST({k} AS BINARY)"));
            }
        }
        keys.join(", ")
    }
}

#[cfg(test)]
mod tests;
