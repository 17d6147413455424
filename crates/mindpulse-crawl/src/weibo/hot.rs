//! The hot-search list (`/ajax/side/hotSearch`): ads dropped, display order kept.

use crate::json::{boolean, int, string};
use serde_json::Value;

/// One realtime hot-search entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HotItem {
    /// The term, without `#`.
    pub word: String,
    /// What to search for: `word_scheme` (`#word#`) or `#word#`.
    pub query: String,
    pub note: Option<String>,
    /// 1-based position after ads are dropped.
    pub rank: i64,
    pub heat: Option<i64>,
    /// `新`, `热`, `沸`, `爆`, `暖`, `剧`… or None.
    pub label: Option<String>,
    pub category: Option<String>,
}

/// Why a hot-search response was unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotProblem {
    Login,
    Malformed(String),
}

/// Parses the response body.
pub fn parse_hot(body: &str) -> Result<Vec<HotItem>, HotProblem> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| HotProblem::Malformed(format!("not JSON: {e}")))?;
    if int(&v, "ok") == Some(-100) {
        return Err(HotProblem::Login);
    }
    let list = v
        .get("data")
        .and_then(|d| d.get("realtime"))
        .and_then(Value::as_array)
        .ok_or_else(|| HotProblem::Malformed("no data.realtime list".into()))?;
    let mut out = Vec::new();
    for e in list {
        if boolean(e, "is_ad") || e.get("ad_info").is_some_and(|a| !a.is_null()) {
            continue;
        }
        let Some(word) = string(e, "word")
            .map(|w| w.trim_matches('#').to_string())
            .filter(|w| !w.is_empty())
        else {
            continue;
        };
        let query = string(e, "word_scheme").unwrap_or_else(|| format!("#{word}#"));
        let label = ["label_name", "icon_desc", "small_icon_desc"]
            .iter()
            .find_map(|k| string(e, k))
            .filter(|l| !l.is_empty());
        out.push(HotItem {
            rank: out.len() as i64 + 1,
            note: string(e, "note"),
            heat: int(e, "num").or_else(|| int(e, "raw_hot")),
            label,
            category: string(e, "category"),
            query,
            word,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ads_are_dropped_and_ranks_follow_display_order() {
        let body = r##"{"ok":1,"data":{"hotgov":{"word":"#置顶#","is_gov":1},"realtime":[
            {"word":"考研倒计时","word_scheme":"#考研倒计时#","note":"考研倒计时","num":1283345,"rank":0,"realpos":1,"label_name":"热","category":"教育"},
            {"word":"某品牌新品","note":"某品牌新品","num":0,"rank":1,"realpos":2,"is_ad":1,"label_name":"荐","ad_channel":1},
            {"word":"打工人的周一","note":"打工人的周一","raw_hot":903211,"rank":2,"realpos":3,"icon_desc":"新"}]}}"##;
        let items = parse_hot(body).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].rank, items[0].word.as_str(), items[0].heat),
            (1, "考研倒计时", Some(1283345))
        );
        assert_eq!(items[0].label.as_deref(), Some("热"));
        assert_eq!(
            (items[1].rank, items[1].query.as_str()),
            (2, "#打工人的周一#")
        );
        assert_eq!(items[1].label.as_deref(), Some("新"));
        assert_eq!(items[1].heat, Some(903211));
        assert_eq!(
            parse_hot(r#"{"ok":-100,"url":"https://weibo.com/login.php"}"#),
            Err(HotProblem::Login)
        );
        assert!(matches!(
            parse_hot("{\"ok\":1"),
            Err(HotProblem::Malformed(_))
        ));
    }
}
