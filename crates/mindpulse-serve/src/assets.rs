//! The two static files the pages load: the stylesheet (the report's, plus navigation and
//! forms) and the one script, which makes chart points open the posts behind them. No inline
//! script or style anywhere: the CSP allows only these ('self').

/// `/static/app.js`: a click (or Enter) on a chart point opens the posts behind it.
pub const APP_JS: &str = r#"'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const svg of document.querySelectorAll('svg.chart[data-href]')) {
    for (const dot of svg.querySelectorAll('circle.pt')) {
      dot.setAttribute('tabindex', '0');
      dot.classList.add('link');
      const open = () => {
        let url = svg.dataset.href + '&bucket=' + encodeURIComponent(dot.dataset.bucket);
        if (svg.dataset.href.includes('&group=')) {
          url += '&value=' + encodeURIComponent(dot.dataset.group);
        }
        window.location.assign(url);
      };
      dot.addEventListener('click', open);
      dot.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(); });
    }
  }
});
"#;

/// `/static/style.css`.
pub fn style_css() -> String {
    format!(
        "{}{}",
        crate::style::CSS,
        r#"
body { max-width: 1000px; }
nav { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; border-bottom: 1px solid #ccc; padding: .4rem 0; }
nav a { color: #0a4a8a; text-decoration: none; }
nav .who { margin-left: auto; color: #555; font-size: .9rem; }
form.inline { display: inline; }
form.query, form.review, form.login { display: flex; gap: .8rem; flex-wrap: wrap; align-items: end; margin: .8rem 0; }
form.login { flex-direction: column; align-items: start; max-width: 320px; }
.error { color: #a00; font-weight: 600; }
circle.pt.link { cursor: pointer; }
.score { font-size: .8rem; }
"#
    )
}
