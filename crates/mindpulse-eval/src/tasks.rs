//! The catalogue of tasks: which dataset folder, which labels, which encoder(s), which
//! published metric the task is judged by, and which score dimension its head feeds.
//!
//! Task names are the folder names in `../shared/data`. English tasks get a head on
//! `minilm-l6-v2`; Chinese tasks a head on `multilingual-e5-small`; English tasks whose
//! dimension has no Chinese data also get an e5 head, so Chinese posts are scored by a
//! cross-lingual head (e5 is multilingual) rather than not at all.

/// The English encoder (fast, English only).
pub const MINILM: &str = "minilm-l6-v2";
/// The multilingual encoder (Chinese and everything not English).
pub const E5: &str = "multilingual-e5-small";

/// Short name of an encoder, used in head ids (`dreaddit@minilm`).
pub fn encoder_short(encoder: &str) -> &str {
    match encoder {
        MINILM => "minilm",
        E5 => "e5",
        other => other,
    }
}

/// The text prefix an encoder expects for classification inputs.
pub fn encoder_prefix(encoder: &str) -> &'static str {
    match encoder {
        E5 => "query: ",
        _ => "",
    }
}

/// Single-label (softmax) or multi-label (one sigmoid per label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Single,
    Multi,
}

/// The metric a task's published results use; the head is tuned on validation data for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Accuracy,
    MacroF1,
    WeightedF1,
    MicroF1,
    BalancedAccuracy,
    /// F1 of the task's positive label.
    PositiveF1,
}

impl Metric {
    pub fn label(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::MacroF1 => "macro-F1",
            Metric::WeightedF1 => "weighted F1",
            Metric::MicroF1 => "micro-F1",
            Metric::BalancedAccuracy => "balanced accuracy (= macro recall)",
            Metric::PositiveF1 => "F1 of the positive label",
        }
    }
}

/// One task.
#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub name: &'static str,
    /// Language of the data: `en` or `zh`.
    pub lang: &'static str,
    pub kind: TaskKind,
    /// Canonical labels, in head output order.
    pub labels: &'static [&'static str],
    /// The label whose probability is the dimension's value (binary tasks, substance abuse).
    pub positive: Option<&'static str>,
    /// Encoders that get a head for this task (first = the task's own language).
    pub encoders: &'static [&'static str],
    pub metric: Metric,
    /// The published result on the official test split, on the 0–1 scale of `metric`.
    pub published: Option<f64>,
    /// Who reached `published`.
    pub published_by: &'static str,
    /// Score dimension this head feeds (`stress`, `depression`, …).
    pub dimension: &'static str,
    /// What the labels mean, for the model card.
    pub description: &'static str,
    /// At most this many training rows (a deterministic sample) to bound embedding time.
    pub max_train: Option<usize>,
    /// The population screen a post must pass before this head scores it: the head was
    /// trained on posts already selected for the condition (a mental-health forum, a
    /// suicide-related topic), so its answer means something only for such posts.
    pub requires: Option<&'static str>,
}

impl TaskSpec {
    pub fn is_binary(&self) -> bool {
        self.kind == TaskKind::Single && self.labels.len() == 2
    }

    /// The head id for an encoder: `task@short`.
    pub fn head_id(&self, encoder: &str) -> String {
        format!("{}@{}", self.name, encoder_short(encoder))
    }

    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| *l == label)
    }
}

const EN_BOTH: &[&str] = &[MINILM, E5];
const EN: &[&str] = &[MINILM];
const ZH: &[&str] = &[E5];

/// Every task mindpulse knows.
pub static TASKS: &[TaskSpec] = &[
    TaskSpec {
        name: "dreaddit",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["0", "1"],
        positive: Some("1"),
        encoders: EN_BOTH,
        metric: Metric::WeightedF1,
        published: Some(0.818),
        published_by: "MentalRoBERTa (BERT 0.783; zero-shot GPT-3.5 0.718)",
        dimension: "stress_clinical",
        description: "stress in Reddit posts (1 = stressed)",
        max_train: None,
        requires: Some("stress"),
    },
    TaskSpec {
        name: "imhi_dr",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["no", "yes"],
        positive: Some("yes"),
        encoders: EN_BOTH,
        metric: Metric::WeightedF1,
        published: Some(0.945),
        published_by: "RoBERTa / MentalRoBERTa ≈ 0.94–0.95 (zero-shot GPT-3.5 0.824)",
        dimension: "depression_clinical",
        description: "depression in Reddit posts (yes / no)",
        max_train: None,
        requires: Some("depression"),
    },
    TaskSpec {
        name: "depseverity",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["minimum", "mild", "moderate", "severe"],
        positive: None,
        encoders: EN_BOTH,
        metric: Metric::BalancedAccuracy,
        published: Some(0.756),
        published_by: "Mental-FLAN-T5",
        dimension: "depression_severity",
        description: "depression severity, 4 levels (the Dreaddit posts relabelled)",
        max_train: None,
        requires: Some("depression"),
    },
    TaskSpec {
        name: "imhi_sad",
        lang: "en",
        kind: TaskKind::Single,
        labels: &[
            "school",
            "financial problem",
            "family issues",
            "social relationships",
            "work",
            "health issues",
            "emotional turmoil",
            "everyday decision making",
            "other causes",
        ],
        positive: None,
        encoders: EN,
        metric: Metric::WeightedF1,
        published: Some(0.684),
        published_by: "MentalRoBERTa",
        dimension: "stress_cause",
        description: "cause of stress, 9 classes",
        max_train: None,
        requires: Some("stress"),
    },
    TaskSpec {
        name: "sdcnl",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["0", "1"],
        positive: Some("1"),
        encoders: EN,
        metric: Metric::BalancedAccuracy,
        published: Some(0.723),
        published_by: "MentalRoBERTa (Mental-Alpaca 0.724)",
        dimension: "suicide_risk_level",
        description: "suicidal (1) vs depressed (0) posts; labels from subreddits",
        max_train: None,
        requires: Some("suicide_risk"),
    },
    TaskSpec {
        name: "irf_belong",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["0", "1"],
        positive: Some("1"),
        encoders: EN,
        metric: Metric::WeightedF1,
        published: Some(0.767),
        published_by: "MentalBERT (IMHI's relabelled copy)",
        dimension: "thwarted_belongingness",
        description: "interpersonal risk factor of suicide: thwarted belongingness",
        max_train: None,
        requires: Some("suicide_risk"),
    },
    TaskSpec {
        name: "irf_burden",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["0", "1"],
        positive: Some("1"),
        encoders: EN,
        metric: Metric::WeightedF1,
        published: Some(0.767),
        published_by: "MentalBERT (IMHI's relabelled copy)",
        dimension: "perceived_burdensomeness",
        description: "interpersonal risk factor of suicide: perceived burdensomeness",
        max_train: None,
        requires: Some("suicide_risk"),
    },
    TaskSpec {
        name: "smm4h2020_task4",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["abuse", "consumption", "mention", "unrelated"],
        positive: Some("abuse"),
        encoders: EN,
        metric: Metric::PositiveF1,
        published: Some(0.51),
        published_by: "SMM4H 2020 Task 4 best (hidden test)",
        dimension: "substance_use_kind",
        description: "prescription-drug abuse in tweets (value = P(abuse))",
        max_train: None,
        requires: Some("substance_use"),
    },
    TaskSpec {
        name: "tweeteval_sentiment",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["negative", "neutral", "positive"],
        positive: None,
        encoders: EN,
        metric: Metric::BalancedAccuracy,
        published: Some(0.737),
        published_by: "TweetEval RoBERTa (macro recall)",
        dimension: "sentiment",
        description: "tweet sentiment; negativity = P(negative)",
        max_train: None,
        requires: None,
    },
    TaskSpec {
        name: "tweeteval_emotion",
        lang: "en",
        kind: TaskKind::Single,
        labels: &["anger", "joy", "optimism", "sadness"],
        positive: None,
        encoders: EN,
        metric: Metric::MacroF1,
        published: Some(0.802),
        published_by: "TweetEval RoBERTa",
        dimension: "tweet_emotion",
        description: "tweet emotion, 4 classes",
        max_train: None,
        requires: None,
    },
    TaskSpec {
        name: "goemotions_ekman",
        lang: "en",
        kind: TaskKind::Multi,
        labels: &[
            "anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise",
        ],
        positive: None,
        encoders: EN,
        metric: Metric::MacroF1,
        published: Some(0.64),
        published_by: "BERT-base (Demszky et al. 2020)",
        dimension: "emotion",
        description: "Ekman emotions + neutral in Reddit comments, multi-label",
        max_train: Some(15_000),
        requires: None,
    },
    TaskSpec {
        name: "goemotions_group",
        lang: "en",
        kind: TaskKind::Multi,
        labels: &["ambiguous", "negative", "neutral", "positive"],
        positive: None,
        encoders: EN,
        metric: Metric::MacroF1,
        published: Some(0.69),
        published_by: "BERT-base (Demszky et al. 2020)",
        dimension: "valence_group",
        description: "positive / negative / ambiguous / neutral, multi-label",
        max_train: Some(15_000),
        requires: None,
    },
    TaskSpec {
        name: "smp2020ewect_usual",
        lang: "zh",
        kind: TaskKind::Single,
        labels: &["neutral", "happy", "angry", "sad", "fear", "surprise"],
        positive: None,
        encoders: ZH,
        metric: Metric::MacroF1,
        published: Some(0.739),
        published_by: "single bert-base-chinese (contest winner 0.786)",
        dimension: "emotion",
        description: "Weibo emotion (SMP2020-EWECT, general posts)",
        max_train: Some(15_000),
        requires: None,
    },
    TaskSpec {
        name: "smp2020ewect_virus",
        lang: "zh",
        kind: TaskKind::Single,
        labels: &["neutral", "happy", "angry", "sad", "fear", "surprise"],
        positive: None,
        encoders: ZH,
        metric: Metric::MacroF1,
        published: Some(0.708),
        published_by: "contest winner",
        dimension: "emotion_epidemic",
        description: "Weibo emotion (SMP2020-EWECT, COVID-19 posts)",
        max_train: None,
        requires: None,
    },
    TaskSpec {
        name: "clue_emotion2020",
        lang: "zh",
        kind: TaskKind::Single,
        labels: &[
            "anger",
            "disgust",
            "fear",
            "happiness",
            "like",
            "sadness",
            "surprise",
        ],
        positive: None,
        encoders: ZH,
        metric: Metric::Accuracy,
        published: Some(0.607),
        published_by: "BERT-base",
        dimension: "emotion_clue",
        description: "Weibo emotion, 7 classes (validation split only: 5-fold CV)",
        max_train: None,
        requires: None,
    },
    TaskSpec {
        name: "sos_hl_1k",
        lang: "zh",
        kind: TaskKind::Single,
        labels: &["high", "low"],
        positive: Some("high"),
        encoders: ZH,
        metric: Metric::PositiveF1,
        published: Some(0.828),
        published_by: "fine-tuned Chinese BERT (SupervisedVsLLM-EfficacyEval)",
        dimension: "suicide_risk_level",
        description: "Weibo suicide risk, high / low",
        max_train: None,
        requires: Some("suicide_risk"),
    },
    TaskSpec {
        name: "socialcd_3k",
        lang: "zh",
        kind: TaskKind::Multi,
        labels: &[
            "乱贴标签",
            "先知错误",
            "心理过滤",
            "放大",
            "罪责归己",
            "以偏概全",
            "读心术",
            "应该式",
            "非此即彼",
            "否定正面思考",
            "罪责归他",
            "情绪化推理",
        ],
        positive: None,
        encoders: ZH,
        metric: Metric::MicroF1,
        published: Some(0.761),
        published_by: "fine-tuned Chinese BERT (SupervisedVsLLM-EfficacyEval)",
        dimension: "cognitive_distortion",
        description: "cognitive distortions in Weibo posts, 12 types, multi-label",
        max_train: None,
        requires: None,
    },
];

const fn screen_task(
    name: &'static str,
    dimension: &'static str,
    description: &'static str,
) -> TaskSpec {
    TaskSpec {
        name,
        lang: "en",
        kind: TaskKind::Single,
        labels: &["no", "yes"],
        positive: Some("yes"),
        encoders: EN_BOTH,
        metric: Metric::BalancedAccuracy,
        published: None,
        published_by: "",
        dimension,
        description,
        max_train: None,
        requires: None,
    }
}

/// The population screens as tasks (their data come from many sets: see
/// [`crate::screening`]). Not in [`TASKS`]: they have no folder of their own.
pub static SCREEN_TASKS: &[TaskSpec] = &[
    screen_task(
        "screen_depression",
        "depression",
        "signs of depression in any post (yes/no)",
    ),
    screen_task(
        "screen_suicide_risk",
        "suicide_risk",
        "signs of suicidal thoughts in any post (yes/no)",
    ),
    screen_task(
        "screen_stress",
        "stress",
        "signs of stress in any post (yes/no)",
    ),
    screen_task(
        "screen_substance_use",
        "substance_use",
        "signs of substance use in any post (yes/no)",
    ),
];

/// Finds a task (or a screen's task) by name.
pub fn task(name: &str) -> Option<&'static TaskSpec> {
    TASKS.iter().chain(SCREEN_TASKS).find(|t| t.name == name)
}

/// All task names, for error messages.
pub fn task_names() -> String {
    TASKS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_consistent() {
        let mut names = std::collections::HashSet::new();
        for t in TASKS {
            assert!(names.insert(t.name), "duplicate task {}", t.name);
            if let Some(p) = t.positive {
                assert!(t.label_index(p).is_some(), "{}: positive label", t.name);
            }
            assert!(!t.encoders.is_empty());
            if t.lang == "zh" {
                assert_eq!(t.encoders, &[E5], "{}: Chinese needs e5", t.name);
            }
            let mut labels = std::collections::HashSet::new();
            for l in t.labels {
                assert!(labels.insert(l), "{}: duplicate label {l}", t.name);
            }
        }
        assert_eq!(
            task("dreaddit").map(|t| t.head_id(E5)).as_deref(),
            Some("dreaddit@e5")
        );
    }
}
