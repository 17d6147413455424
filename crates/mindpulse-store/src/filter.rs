//! Which stored posts a reading command covers: the filters `export`, `stats` and
//! `trends` share (time window, platform, language, kind, region, topic, duplicates), written
//! once as SQL so that the same flags select the same posts everywhere.

use crate::Dialect;
use chrono::{DateTime, Utc};

/// One topic of one topic build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveredTopic {
    pub build: i64,
    pub number: i64,
}

/// A selection of stored posts. Empty: every post.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostFilter {
    /// Created at or after (posts without a time are left out when a bound is set).
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    pub platform: Option<String>,
    /// Stated or detected language code (`zh`, `en`, …).
    pub lang: Option<String>,
    /// `post`, `comment` or `repost`.
    pub kind: Option<String>,
    /// The region as stored (e.g. 北京).
    pub region: Option<String>,
    /// A topic keyword as stored (without `#…#`), matched exactly on every backend.
    pub topic: Option<String>,
    /// A discovered topic: posts assigned to topic `number` of topic build `build`
    /// (`mindpulse topics build`).
    pub discovered: Option<DiscoveredTopic>,
    /// Leave out posts flagged as exact or near duplicates of another post.
    pub no_duplicates: bool,
}

impl PostFilter {
    /// The filter's conditions on posts aliased `alias`, each as ` AND …`, with `?`
    /// placeholders bound by [`bind_post_filter!`] in the same order.
    pub(crate) fn conditions(&self, alias: &str, dialect: Dialect) -> String {
        let mut sql = String::new();
        if self.since.is_some() {
            sql.push_str(&format!(" AND {alias}.created_at >= ?"));
        }
        if self.until.is_some() {
            sql.push_str(&format!(" AND {alias}.created_at < ?"));
        }
        if self.platform.is_some() {
            sql.push_str(&format!(" AND {alias}.platform = ?"));
        }
        if self.lang.is_some() {
            sql.push_str(&format!(" AND {alias}.lang = ?"));
        }
        if self.kind.is_some() {
            sql.push_str(&format!(" AND {alias}.kind = ?"));
        }
        if self.region.is_some() {
            sql.push_str(&format!(" AND {alias}.region = ?"));
        }
        if self.topic.is_some() {
            // Exactly this keyword, on MySQL too (whose collation folds case and accents).
            sql.push_str(&format!(
                " AND {alias}.id IN (SELECT pt.post_id FROM post_topics pt JOIN topics t ON t.id = pt.topic_id WHERE {})",
                dialect.exact_eq("t.keyword")
            ));
        }
        if self.discovered.is_some() {
            sql.push_str(&format!(
                " AND {alias}.id IN (SELECT ta.post_id FROM topic_assignments ta WHERE ta.build_id = ? AND ta.number = ?)"
            ));
        }
        if self.no_duplicates {
            sql.push_str(&format!(" AND {alias}.dup_kind IS NULL"));
        }
        sql
    }

    /// Whether the filter selects fewer than all posts.
    pub fn is_empty(&self) -> bool {
        *self == PostFilter::default()
    }
}

/// Binds a [`PostFilter`]'s values to a query built with [`PostFilter::conditions`].
macro_rules! bind_post_filter {
    ($q:expr, $filter:expr, $dialect:expr) => {{
        let f: &$crate::PostFilter = $filter;
        let mut q = $q;
        if let Some(s) = f.since {
            q = q.bind(s);
        }
        if let Some(u) = f.until {
            q = q.bind(u);
        }
        if let Some(v) = &f.platform {
            q = q.bind(v.clone());
        }
        if let Some(v) = &f.lang {
            q = q.bind(v.clone());
        }
        if let Some(v) = &f.kind {
            q = q.bind(v.clone());
        }
        if let Some(v) = &f.region {
            q = q.bind(v.clone());
        }
        if let Some(t) = &f.topic {
            q = q.bind(t.clone());
            if $dialect.exact_binds_twice() {
                q = q.bind(t.clone());
            }
        }
        if let Some(d) = f.discovered {
            q = q.bind(d.build).bind(d.number);
        }
        q
    }};
}
pub(crate) use bind_post_filter;
