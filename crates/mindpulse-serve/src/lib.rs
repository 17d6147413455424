//! mindpulse-serve: what mindpulse shows people — the web interface (`mindpulse serve`), its
//! JSON API and the HTML report. It never touches the database: the binary implements
//! [`Source`] over the store and hands over the CLI's JSON shapes or plain view types.
//!
//! | module | what |
//! |---|---|
//! | [`app`] | the axum application: routes, sign-in, sessions, CSRF, roles, security headers, the `/api/…` endpoints |
//! | [`auth`] | roles, Argon2id password hashes, sessions, CSRF tokens, the login rate limit |
//! | [`cache`] | a short-lived cache of trend answers in front of any source (`serve --cache-secs`) |
//! | [`source`] | the boundary trait the binary implements (trends, alerts, reviews, posts, provenance, accounts) |
//! | [`pages`] | the pages, rendered on the server |
//! | [`assets`] | the stylesheet and the one script (click-through on chart points) |
//! | [`chart`] | server-rendered SVG line charts with 95 % CI bands, hover values in `<title>`, `data-` attributes for click-through, gaps for suppressed cells |
//! | [`graph`] | the server-rendered SVG drawing of the top authors and the links among them (network page) |
//! | [`html`] | escaping of every stored text, tables, percentages |
//! | [`i18n`] | the interface's words in English and Chinese |
//! | [`report`] | the self-contained HTML report: volume, indices with CIs, alerts and reviews, topics, network summary, methods |
//! | [`style`] | the stylesheet (screen and print) |
//!
//! Stored text — posts, topic keywords, review notes, group names — is always rendered as
//! text, never as HTML; the pages load one script of their own and no inline script (CSP),
//! and the report carries no script at all.

pub mod app;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod chart;
pub mod graph;
pub mod html;
pub mod i18n;
pub mod pages;
pub mod report;
pub mod source;
pub mod style;

pub use app::{router, serve, ServeOptions};
pub use cache::CachedSource;
pub use chart::{Chart, Line, Point};
pub use i18n::{Locale, Text};
pub use report::Report;
pub use source::{Account, PostsQuery, SearchQuery, Source, SourceError, TrendQuery};
