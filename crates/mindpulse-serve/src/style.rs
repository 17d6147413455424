//! The stylesheet shared by the report (inlined) and the pages (served as a file): readable
//! on screen, clean on paper (no backgrounds, no page break inside a chart or a row).

/// The CSS.
pub const CSS: &str = r#"
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #1b1b1b; max-width: 820px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
.period { font-size: 1.1rem; margin: 0; }
.meta, .source { color: #555; font-size: .85rem; }
.notice { background: #fff6d6; border-left: 4px solid #e0a800; padding: .5rem .8rem; }
.empty { color: #666; font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #e3e3e3; padding: .3rem .4rem; }
th { background: #f4f4f4; }
blockquote.post { margin: 0 0 .3rem; padding: .2rem .5rem; border-left: 3px solid #bbb; color: #333; white-space: pre-wrap; overflow-wrap: anywhere; }
.note { font-size: .85rem; color: #333; overflow-wrap: anywhere; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg.chart circle.pt:hover { stroke: #000; stroke-width: 1.5; }
.dimension, tr, svg.chart { break-inside: avoid; page-break-inside: avoid; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  .notice, th { background: none; }
  h2 { break-after: avoid; }
}
"#;
