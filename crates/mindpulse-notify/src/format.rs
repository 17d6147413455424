//! Request bodies for each [`Format`], and how each platform reports failure in a 2xx.
//!
//! * `json`: the [`AlertMessage`] fields at the top level plus `"kind": "mindpulse.alert"`
//!   and `"version": 1` ([`JSON_KIND`], [`JSON_VERSION`]).
//! * `feishu` (Feishu/Lark custom bot, <https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot>):
//!   a rich-text message, `{"msg_type":"post","content":{"post":{"zh_cn":{"title":…,
//!   "content":[[{"tag":"text","text":…}],…,[{"tag":"a","text":…,"href":…}]]}}}}`, plus
//!   `"timestamp"` and `"sign"` when signed. The bot answers HTTP 200 with
//!   `{"code":0,"msg":"success",…}` (older deployments: `{"StatusCode":0,…}`); any other
//!   code is a failure (19021 bad signature, 19024 keyword mismatch, 11232 rate limit, …).
//! * `dingtalk` (DingTalk custom robot, <https://open.dingtalk.com/document/robots/custom-robot-access>):
//!   `{"msgtype":"markdown","markdown":{"title":…,"text":…}}`. The robot answers HTTP 200
//!   with `{"errcode":0,"errmsg":"ok"}`; any other `errcode` is a failure (310000 bad
//!   signature or keyword, 300001 bad token, 130101 sending too fast, …).
//! * `slack` (incoming webhook, <https://api.slack.com/messaging/webhooks>): `{"text": …}`
//!   in mrkdwn (`*bold*`, `<url|label>`; `&`, `<`, `>` escaped). Slack answers `200 ok`,
//!   or 400 `invalid_payload`, 403 `action_prohibited`, 404 `channel_not_found`,
//!   410 `channel_is_archived`, 500 `rollup_error`
//!   (<https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks>).

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::Format;
use crate::message::AlertMessage;

/// `kind` of the generic JSON body.
pub const JSON_KIND: &str = "mindpulse.alert";
/// `version` of the generic JSON body; bumped on incompatible changes.
pub const JSON_VERSION: u32 = 1;

/// The generic JSON body: the message's fields plus `kind` and `version`.
#[derive(Serialize)]
struct JsonEnvelope<'a> {
    kind: &'static str,
    version: u32,
    #[serde(flatten)]
    alert: &'a AlertMessage,
}

/// Signing material for Feishu's body (`timestamp` in seconds and `sign`).
pub(crate) struct FeishuSignature {
    pub(crate) timestamp_secs: i64,
    pub(crate) sign: String,
}

/// The JSON body for `format`, without transport concerns (DingTalk's and the generic
/// format's signatures travel in the URL / headers and are added by the sender).
pub(crate) fn render(
    format: Format,
    msg: &AlertMessage,
    feishu_sig: Option<&FeishuSignature>,
) -> Result<Vec<u8>, serde_json::Error> {
    match format {
        Format::Json => serde_json::to_vec(&JsonEnvelope {
            kind: JSON_KIND,
            version: JSON_VERSION,
            alert: msg,
        }),
        Format::Feishu => serde_json::to_vec(&feishu_body(msg, feishu_sig)),
        Format::Dingtalk => serde_json::to_vec(&dingtalk_body(msg)),
        Format::Slack => serde_json::to_vec(&json!({ "text": slack_text(msg) })),
    }
}

/// `[ALERT] metric · group · bucket`.
pub(crate) fn title(msg: &AlertMessage) -> String {
    let mut t = format!("[{}] {}", msg.level.trim().to_uppercase(), msg.metric);
    if let Some(group) = msg.group.as_deref().filter(|g| !g.is_empty()) {
        t.push_str(" · ");
        t.push_str(group);
    }
    t.push_str(" · ");
    t.push_str(&msg.bucket);
    t
}

/// `observed 0.183 · expected 0.121 · score 4.2 · p 3.1e-5`.
fn numbers_line(msg: &AlertMessage) -> String {
    let mut parts = vec![format!("observed {}", fmt_num(msg.observed))];
    if let Some(e) = msg.expected {
        parts.push(format!("expected {}", fmt_num(e)));
    }
    if let Some(s) = msg.score {
        parts.push(format!("score {}", fmt_num(s)));
    }
    if let Some(p) = msg.p_value {
        parts.push(format!("p {}", fmt_p(p)));
    }
    parts.join(" · ")
}

/// `detector stl_zscore · alert #42`.
fn detector_line(msg: &AlertMessage) -> String {
    format!("detector {} · alert #{}", msg.detector, msg.id)
}

/// A number with at most 4 decimals, trailing zeros dropped.
fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x != 0.0 && x.abs() < 1e-3 {
        return format!("{x:.2e}");
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn fmt_p(p: f64) -> String {
    if p.is_finite() && p > 0.0 && p < 1e-3 {
        format!("{p:.1e}")
    } else {
        fmt_num(p)
    }
}

fn feishu_body(msg: &AlertMessage, sig: Option<&FeishuSignature>) -> Value {
    let line = |text: String| json!([{ "tag": "text", "text": text }]);
    let mut content = vec![
        line(msg.summary.clone()),
        line(numbers_line(msg)),
        line(detector_line(msg)),
    ];
    if let Some(link) = msg.link.as_deref().filter(|l| !l.is_empty()) {
        content.push(json!([{ "tag": "a", "text": "Open in mindpulse", "href": link }]));
    }
    let mut body = json!({
        "msg_type": "post",
        "content": { "post": { "zh_cn": { "title": title(msg), "content": content } } },
    });
    if let (Some(sig), Some(obj)) = (sig, body.as_object_mut()) {
        obj.insert(
            "timestamp".into(),
            Value::String(sig.timestamp_secs.to_string()),
        );
        obj.insert("sign".into(), Value::String(sig.sign.clone()));
    }
    body
}

fn dingtalk_body(msg: &AlertMessage) -> Value {
    let title = title(msg);
    let mut text = format!(
        "#### {}\n\n{}\n\n- {}\n- {}\n",
        title,
        msg.summary,
        numbers_line(msg),
        detector_line(msg)
    );
    if let Some(link) = msg.link.as_deref().filter(|l| !l.is_empty()) {
        text.push_str(&format!("\n[Open in mindpulse]({link})\n"));
    }
    json!({ "msgtype": "markdown", "markdown": { "title": title, "text": text } })
}

/// Escapes the three characters Slack's mrkdwn reserves.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_text(msg: &AlertMessage) -> String {
    let mut text = format!(
        "*{}*\n{}\n{}\n{}",
        slack_escape(&title(msg)),
        slack_escape(&msg.summary),
        slack_escape(&numbers_line(msg)),
        slack_escape(&detector_line(msg)),
    );
    if let Some(link) = msg.link.as_deref().filter(|l| !l.is_empty()) {
        if link.contains(['<', '>', '|']) {
            text.push('\n');
            text.push_str(&slack_escape(link));
        } else {
            text.push_str(&format!("\n<{link}|Open in mindpulse>"));
        }
    }
    text
}

/// The platform's error code and message when a 2xx body reports a failure.
pub(crate) fn body_error(format: Format, body: &[u8]) -> Option<(i64, String)> {
    let key = match format {
        Format::Feishu => ["code", "StatusCode"],
        Format::Dingtalk => ["errcode", "errcode"],
        Format::Json | Format::Slack => return None,
    };
    let value: Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    let code = key.iter().find_map(|k| obj.get(*k)).and_then(code_of)?;
    if code == 0 {
        return None;
    }
    let message = ["msg", "StatusMessage", "errmsg"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    Some((code, message))
}

/// A code given as a JSON integer or a numeric string.
fn code_of(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Platform codes that mean "too many messages, try later": Feishu 11232 (frequency
/// limited), DingTalk 130101 (sending too fast).
pub(crate) fn rate_limited_code(code: i64) -> bool {
    matches!(code, 11232 | 130101)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> AlertMessage {
        AlertMessage {
            id: 7,
            metric: "suicidality_share".into(),
            group: Some("weibo".into()),
            bucket: "2025-03-14".into(),
            level: "alert".into(),
            observed: 0.1834,
            expected: Some(0.12),
            score: Some(4.25),
            p_value: Some(0.000_031),
            detector: "stl_zscore".into(),
            summary: "Share <up> & away".into(),
            link: Some("https://dash.example/a/7".into()),
        }
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_num(0.1834), "0.1834");
        assert_eq!(fmt_num(4.0), "4");
        assert_eq!(fmt_num(-0.00001), "-1.00e-5");
        assert_eq!(fmt_p(0.000_031), "3.1e-5");
        assert_eq!(
            numbers_line(&msg()),
            "observed 0.1834 · expected 0.12 · score 4.25 · p 3.1e-5"
        );
    }

    #[test]
    fn slack_escapes_and_links() {
        let t = slack_text(&msg());
        assert!(t.starts_with("*[ALERT] suicidality_share · weibo · 2025-03-14*\n"));
        assert!(t.contains("Share &lt;up&gt; &amp; away"));
        assert!(t.ends_with("<https://dash.example/a/7|Open in mindpulse>"));
    }

    #[test]
    fn body_errors() {
        let f = Format::Feishu;
        assert_eq!(
            body_error(f, br#"{"code":0,"msg":"success","data":{}}"#),
            None
        );
        assert_eq!(
            body_error(f, br#"{"StatusCode":0,"StatusMessage":"success"}"#),
            None
        );
        assert_eq!(
            body_error(f, br#"{"code":19021,"msg":"sign match fail","data":{}}"#),
            Some((19021, "sign match fail".into()))
        );
        let d = Format::Dingtalk;
        assert_eq!(body_error(d, br#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert_eq!(
            body_error(d, br#"{"errcode":310000,"errmsg":"sign not match"}"#),
            Some((310000, "sign not match".into()))
        );
        assert_eq!(body_error(d, b"not json"), None);
        assert_eq!(body_error(Format::Slack, br#"{"code":5}"#), None);
    }
}
