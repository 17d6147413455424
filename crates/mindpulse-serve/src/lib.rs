//! mindpulse-serve: what mindpulse shows people. It renders; it never touches the
//! database (the binary reads the store and hands over plain view types).
//!
//! | module | what |
//! |---|---|
//! | [`chart`] | server-rendered SVG line charts with 95 % CI bands, hover values in `<title>`, `data-` attributes for click-through, gaps for suppressed cells |
//! | [`html`] | escaping of every stored text, tables, percentages |
//! | [`i18n`] | the interface's words in English and Chinese |
//! | [`report`] | the self-contained HTML report: volume, indices with CIs, alerts and reviews, topics, network summary, methods |
//! | [`style`] | the stylesheet (screen and print) |
//!
//! Stored text — posts, topic keywords, review notes, group names — is always rendered as
//! text, never as HTML, and the report carries no script at all.

pub mod chart;
pub mod html;
pub mod i18n;
pub mod report;
pub mod style;

pub use chart::{Chart, Line, Point};
pub use i18n::{Locale, Text};
pub use report::Report;
