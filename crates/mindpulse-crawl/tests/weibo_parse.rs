//! Every parsed field of the fixture pages against `EXPECTED.json`: search cards (text,
//! topics, mentions, location, source, pictures, video, verification, VIP, display time →
//! UTC, counts `1.2万`/`100万+`/bare words, the reposted original), pagers, the no-results,
//! visitor and "too frequent" pages, truncated pages, hot search, statuses, long text,
//! comments, replies, reposts and profiles.

use chrono::{DateTime, Utc};
use mindpulse_crawl::weibo::{hot, search, status};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/weibo")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn expected() -> Value {
    serde_json::from_str(&read("EXPECTED.json")).unwrap()
}

fn now() -> DateTime<Utc> {
    expected()["_meta"]["now"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn check_card(file: &str, c: &search::Card, e: &Value) {
    let ctx = format!("{file} mid {}", c.mid);
    assert_eq!(c.mid, e["mid"].as_str().unwrap(), "{ctx}");
    assert_eq!(c.bid, s(&e["bid"]), "{ctx}: bid");
    assert_eq!(c.uid, s(&e["uid"]), "{ctx}: uid");
    assert_eq!(c.screen_name, s(&e["screen_name"]), "{ctx}: screen name");
    assert_eq!(
        c.verified_label,
        e["verified_label"].as_str().unwrap(),
        "{ctx}: verified"
    );
    assert_eq!(c.vip, s(&e["vip"]), "{ctx}: vip");
    assert_eq!(
        c.needs_long_text,
        e["needs_long_text"].as_bool().unwrap(),
        "{ctx}: long text"
    );
    if let Some(text) = e["text"].as_str() {
        assert_eq!(c.text, text, "{ctx}: text");
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(c.topics, strings(&e["topics"]), "{ctx}: topics");
    assert_eq!(c.mentions, strings(&e["mentions"]), "{ctx}: mentions");
    assert_eq!(c.location, s(&e["location"]), "{ctx}: location");
    assert_eq!(c.source, s(&e["source"]), "{ctx}: source");
    assert_eq!(c.pic_ids, strings(&e["pic_ids"]), "{ctx}: pictures");
    assert_eq!(
        c.has_video,
        e["has_video"].as_bool().unwrap(),
        "{ctx}: video"
    );
    assert_eq!(
        c.time_shown,
        e["time_shown"].as_str().unwrap(),
        "{ctx}: time shown"
    );
    let created: DateTime<Utc> = e["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        c.created_at,
        Some(created),
        "{ctx}: created_at from {:?}",
        c.time_shown
    );
    let counts: Vec<i64> = e["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert_eq!(
        vec![c.reposts, c.comments, c.likes],
        counts.iter().map(|&n| Some(n)).collect::<Vec<_>>(),
        "{ctx}: counts"
    );
    match (&c.original, e.get("original")) {
        (Some(o), Some(eo)) => check_card(file, o, eo),
        (None, None) => {}
        (o, eo) => panic!("{ctx}: original {o:?} vs expected {eo:?}"),
    }
}

#[test]
fn search_cards_every_field() {
    let exp = expected();
    for (file, cards) in exp["cards"].as_object().unwrap() {
        let page = match search::parse_search(&read(file), now()).unwrap() {
            search::SearchPage::Results(p) => p,
            other => panic!("{file}: {other:?}"),
        };
        assert!(page.skipped.is_empty(), "{file}: {:?}", page.skipped);
        let cards = cards.as_array().unwrap();
        assert_eq!(
            page.cards.len(),
            cards.len(),
            "{file}: side widgets are not cards"
        );
        for (c, e) in page.cards.iter().zip(cards) {
            check_card(file, c, e);
        }
        assert_eq!(
            page.page_count as u64,
            exp["page_counts"][file].as_u64().unwrap(),
            "{file}: pager"
        );
    }
    let last = search::parse_search(&read("search_topic_p3.html"), now()).unwrap();
    assert!(
        matches!(last, search::SearchPage::Results(ref p) if p.next.is_none()),
        "the last page has no next link"
    );
    let first = search::parse_search(&read("search_topic_p1.html"), now()).unwrap();
    assert!(
        matches!(first, search::SearchPage::Results(ref p) if p.next.as_deref().is_some_and(|n| n.contains("page=2")))
    );
    let cap = search::parse_search(&read("search_cap.html"), now()).unwrap();
    assert!(matches!(cap, search::SearchPage::Results(ref p) if p.page_count == 50));
}

#[test]
fn pages_that_are_not_results() {
    assert_eq!(
        search::parse_search(&read("search_no_result.html"), now()),
        Ok(search::SearchPage::NoResults)
    );
    assert_eq!(
        search::parse_search(&read("expired_cookie_visitor.html"), now()),
        Err(search::PageProblem::Login)
    );
    assert_eq!(
        search::parse_search(&read("too_frequent.html"), now()),
        Err(search::PageProblem::TooFrequent)
    );
    let full = read("search_topic_p1.html");
    let cut = &full[..full.char_indices().nth(full.chars().count() / 2).unwrap().0];
    assert_eq!(
        search::parse_search(cut, now()),
        Err(search::PageProblem::Truncated)
    );
}

#[test]
fn hot_search_drops_ads() {
    let exp = expected();
    let items = hot::parse_hot(&read("hotSearch.json")).unwrap();
    let want = exp["hot"].as_array().unwrap();
    assert_eq!(items.len(), want.len());
    for (i, w) in items.iter().zip(want) {
        assert_eq!(i.word, w["keyword"].as_str().unwrap());
        assert_eq!(i.rank, w["rank"].as_i64().unwrap());
        assert_eq!(i.heat, w["heat"].as_i64());
        assert_eq!(i.label, s(&w["label"]));
        assert_eq!(i.note, s(&w["note"]));
        assert_eq!(i.query, format!("#{}#", i.word));
    }
    assert!(matches!(
        hot::parse_hot(&read("expired_cookie_ajax.json")),
        Err(hot::HotProblem::Login)
    ));
}

fn post<'a>(exp: &'a Value, id: &str) -> &'a Value {
    exp["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("post {id}"))
}

#[test]
fn statuses_longtext_comments_reposts_profiles() {
    let exp = expected();
    let main = &exp["main_post"];
    let bid = main["bid"].as_str().unwrap();
    let mid = main["mid"].as_str().unwrap();
    let st = status::parse_show(&read(&format!("statuses_show/{bid}.json")), now()).unwrap();
    let e = post(&exp, mid);
    assert_eq!(st.mid, mid);
    assert_eq!(st.region.as_deref(), e["region"].as_str());
    assert_eq!(
        (st.reposts, st.comments, st.likes),
        (
            e["reposts"].as_i64(),
            e["comments"].as_i64(),
            e["likes"].as_i64()
        )
    );
    assert_eq!(
        st.created_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .as_deref(),
        e["created_at"].as_str()
    );
    assert_eq!(st.pic_num, 3);
    assert!(status::parse_show(&read("expired_cookie_ajax.json"), now()).is_err());

    // Long text.
    let long_card = &exp["cards"]["search_topic_p1.html"][2];
    let lt = status::parse_longtext(&read(&format!(
        "longtext_{}.json",
        long_card["bid"].as_str().unwrap()
    )))
    .unwrap()
    .unwrap();
    assert_eq!(
        lt,
        post(&exp, long_card["mid"].as_str().unwrap())["text"]
            .as_str()
            .unwrap()
    );

    // Comments: page 1 (with previewed replies), page 2 (max_id 0), the reply thread.
    let p1 = status::parse_comments(&read("buildComments_p1.json"), now()).unwrap();
    assert_eq!(p1.max_id, main["comments_max_id"].as_i64());
    assert_eq!(p1.comments.len(), 4);
    let c1 = &p1.comments[0];
    assert_eq!(c1.id, main["comment_id_with_replies"].as_str().unwrap());
    assert!(c1.more_replies);
    assert_eq!(c1.previews.len(), 2);
    assert_eq!(c1.reply_total, Some(4));
    assert_eq!(c1.text, post(&exp, &c1.id)["text"].as_str().unwrap());
    assert_eq!(c1.region.as_deref(), Some("江苏"));
    let c2 = &p1.comments[1];
    assert_eq!(
        (c2.likes, c2.region.as_deref()),
        (Some(12000), Some("陕西")),
        "like_count as a string, 来自 with a space"
    );
    let u = c2.user.as_ref().unwrap();
    assert_eq!(
        (u.followers, u.verified_type, u.region.as_deref()),
        (Some(45000), Some(0), Some("陕西"))
    );
    let p2 = status::parse_comments(&read("buildComments_p2.json"), now()).unwrap();
    assert_eq!((p2.comments.len(), p2.max_id), (2, Some(0)));
    let child =
        status::parse_comments(&read(&format!("buildComments_child_{}.json", c1.id)), now())
            .unwrap();
    assert_eq!(child.comments.len(), 4);
    assert!(child
        .comments
        .iter()
        .all(|r| r.root_id.as_deref() == Some(c1.id.as_str())));
    let chain = &child.comments[3];
    assert_eq!(
        chain.reply_to.as_deref(),
        Some(child.comments[2].id.as_str())
    );
    assert_eq!(
        post(&exp, &chain.id)["parent"].as_str(),
        Some(child.comments[2].id.as_str())
    );
    assert!(chain.text.starts_with("回复@"));

    // Reposts.
    let rp = status::parse_reposts(&read("repostTimeline.json"), now()).unwrap();
    assert_eq!(
        (rp.reposts.len(), rp.total, rp.max_page),
        (3, Some(3), Some(2))
    );
    assert_eq!(rp.reposts[0].retweeted.as_ref().unwrap().mid, mid);
    assert_eq!(rp.reposts[1].text, "加油！//@学习搭子:一起加油");
    assert_eq!(
        status::parse_reposts(&read("repostTimeline_p2.json"), now())
            .unwrap()
            .reposts
            .len(),
        0
    );

    // Profiles.
    for (key, u) in exp["users"].as_object().unwrap() {
        let path = dir().join(format!("profile_info_{}.json", u["uid"].as_str().unwrap()));
        let Ok(body) = std::fs::read_to_string(&path) else {
            continue;
        };
        let p = status::parse_profile(&body).unwrap();
        assert_eq!(p.verified_type, u["verified_type"].as_i64(), "{key}");
        assert_eq!(p.region, s(&u["region"]), "{key}");
        let bucket = mindpulse_clean::follower_bucket(p.followers.unwrap()).map(str::to_string);
        assert_eq!(bucket, s(&u["follower_bucket"]), "{key}");
    }
}
