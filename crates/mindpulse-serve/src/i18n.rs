//! The interface's words in English and Chinese. Every label a page or the report shows is
//! a [`Text`]; [`Locale::text`] gives it in one language. Stored text (posts, keywords,
//! notes) is never translated.

/// The interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Zh,
}

impl Locale {
    /// The BCP 47 code (`en`, `zh`).
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Zh => "zh",
        }
    }

    /// `en` or `zh` (also `zh-CN`, `en-GB` …); None otherwise.
    pub fn parse(code: &str) -> Option<Locale> {
        let lower = code.trim().to_ascii_lowercase();
        match lower.split(['-', '_']).next() {
            Some("en") => Some(Locale::En),
            Some("zh") => Some(Locale::Zh),
            _ => None,
        }
    }

    /// `key` in this language.
    pub fn text(self, key: Text) -> &'static str {
        let (en, zh) = words(key);
        match self {
            Locale::En => en,
            Locale::Zh => zh,
        }
    }
}

/// A label of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    ReportTitle,
    Generated,
    NotDiagnosis,
    Volume,
    Posts,
    PostsScored,
    Indices,
    IndicesHelp,
    NoScores,
    Period,
    Suppressed,
    Alerts,
    NoAlerts,
    Metric,
    Group,
    Rule,
    Buckets,
    Level,
    Status,
    Notes,
    Topics,
    NoTopics,
    TopicsHelp,
    Keywords,
    Examples,
    Network,
    NoNetwork,
    NetworkHelp,
    Community,
    Authors,
    Methods,
    Coverage,
    NoCoverage,
    Query,
    Asked,
    Got,
    Missed,
    Models,
    Dimension,
    Model,
    Validated,
    Limits,
    Limit1,
    Limit2,
    Limit3,
    Limit4,
    Overview,
    Trends,
    Provenance,
    SignIn,
    SignOut,
    Name,
    Password,
    LoginFailed,
    TooManyLogins,
    Review,
    Note,
    Save,
    PostsBehind,
    NoPosts,
    Show,
    Author,
    PostText,
    Scores,
    Forbidden,
    NewestAlerts,
    Runs,
    ClickPoint,
    Evidence,
    History,
    Since,
    Until,
    By,
    NotFound,
    Language,
    NetworkPageHelp,
    Topic,
    TopicHelp,
    OverTime,
    TopicExamples,
    Graph,
    GraphHelp,
    Search,
    Forecast,
    Ask,
    AskHelp,
}

/// (English, Chinese) of `key`.
fn words(key: Text) -> (&'static str, &'static str) {
    use Text::*;
    match key {
        ReportTitle => ("mindpulse report", "mindpulse 报告"),
        Generated => ("Generated", "生成于"),
        NotDiagnosis => (
            "Population figures only: these are shares of all posts in a group, not a diagnosis of anyone.",
            "仅为人群层面的数字：它们是某一群体全部帖子中的比例，不是对任何人的诊断。",
        ),
        Volume => ("Posts collected", "采集的帖子"),
        Posts => ("posts", "帖子"),
        PostsScored => (
            "{posts} posts in the period (duplicates left out), {scored} of them scored. One point per {bucket}; cells with fewer than {min} posts are suppressed.",
            "本期共 {posts} 条帖子（不含重复），其中 {scored} 条已评分。每个点为一个时间段（{bucket}）；少于 {min} 条帖子的单元不予显示。",
        ),
        Indices => ("Indices", "指数"),
        IndicesHelp => (
            "Each index is the share of all posts that show the signal, corrected for the classifier's validated error, with its 95 % confidence band.",
            "每个指数是显示该信号的帖子占全部帖子的比例，已按分类器经验证的误差校正，并附 95% 置信区间。",
        ),
        NoScores => ("No scores in this period.", "本期没有评分。"),
        Period => ("Whole period:", "全期："),
        Suppressed => ("suppressed (too few posts)", "不予显示（帖子太少）"),
        Alerts => ("Alerts", "预警"),
        NoAlerts => ("No alerts in this period.", "本期没有预警。"),
        Metric => ("metric", "指标"),
        Group => ("group", "分组"),
        Rule => ("rule", "规则"),
        Buckets => ("buckets", "时间段"),
        Level => ("level", "级别"),
        Status => ("review status", "审核状态"),
        Notes => ("review notes", "审核备注"),
        Topics => ("Topics", "话题"),
        NoTopics => ("No topics were built.", "尚未生成话题。"),
        TopicsHelp => (
            "Topic build {build}: {posts} posts, {unassigned} not assigned to any topic.",
            "话题构建 {build}：{posts} 条帖子，{unassigned} 条未归入任何话题。",
        ),
        Keywords => ("keywords", "关键词"),
        Examples => ("example posts", "示例帖子"),
        Network => ("Network", "互动网络"),
        NoNetwork => ("No network was built.", "尚未生成互动网络。"),
        NetworkHelp => (
            "Network build {build}: {nodes} pseudonymous authors, {edges} reply, repost and mention links; modularity {modularity}. Authors are not named in this report.",
            "网络构建 {build}：{nodes} 位化名作者，{edges} 条回复、转发和提及关系；模块度 {modularity}。本报告不列出任何作者。",
        ),
        Community => ("community", "社群"),
        Authors => ("authors", "作者数"),
        Methods => ("Methods", "方法"),
        Coverage => ("Data coverage", "数据覆盖"),
        NoCoverage => ("No crawl in this database (posts were imported).", "本数据库没有爬取记录（帖子为导入）。"),
        Query => ("query", "查询"),
        Asked => ("asked", "请求"),
        Got => ("got", "获得"),
        Missed => ("missed", "缺失"),
        Models => ("Models and their validated figures", "模型及其验证指标"),
        Dimension => ("dimension", "维度"),
        Model => ("model (id@sha256)", "模型（id@sha256）"),
        Validated => ("sensitivity / specificity on everyday posts, by language", "在日常帖子上的灵敏度 / 特异度（按语言）"),
        Limits => ("What the numbers do not mean", "这些数字不代表什么"),
        Limit1 => (
            "They are not a diagnosis: a flagged post is a signal in text, not a clinical finding about its author.",
            "它们不是诊断：被标记的帖子只是文本中的信号，不是对作者的临床判断。",
        ),
        Limit2 => (
            "They describe posts, not people: prolific authors weigh more, and people who do not post are not counted.",
            "它们描述的是帖子而非人：发帖多的作者权重更大，不发帖的人不被计入。",
        ),
        Limit3 => (
            "A change can come from who posts, from the platform or from the collection, not only from how people feel; read alerts with the data coverage.",
            "变化可能来自发帖人群、平台或采集方式，而不只是人们的感受；请结合数据覆盖情况解读预警。",
        ),
        Limit4 => (
            "Small groups are suppressed and no individual is identified; do not try to re-identify anyone from examples.",
            "小群体不予显示，也不识别任何个人；请勿试图从示例中重新识别任何人。",
        ),
        Overview => ("Overview", "概览"),
        Trends => ("Trends", "趋势"),
        Provenance => ("Provenance", "来源"),
        SignIn => ("Sign in", "登录"),
        SignOut => ("Sign out", "退出"),
        Name => ("Name", "用户名"),
        Password => ("Password", "密码"),
        LoginFailed => ("Wrong name or password.", "用户名或密码错误。"),
        TooManyLogins => ("Too many failed sign-ins; wait ten minutes.", "登录失败次数过多，请等待十分钟。"),
        Review => ("Review", "审核"),
        Note => ("Note", "备注"),
        Save => ("Save", "保存"),
        PostsBehind => ("Posts behind this point", "该数据点背后的帖子"),
        NoPosts => ("No posts.", "没有帖子。"),
        Show => ("Show", "显示"),
        Author => ("author (pseudonym)", "作者（化名）"),
        PostText => ("text (redacted at ingest)", "内容（采集时已脱敏）"),
        Scores => ("scores (model, version)", "评分（模型，版本）"),
        Forbidden => ("Your role may not do this.", "您的角色无权执行此操作。"),
        NewestAlerts => ("Newest alerts", "最新预警"),
        Runs => ("Runs", "运行记录"),
        ClickPoint => ("Click a point to see the posts behind it.", "点击数据点可查看其背后的帖子。"),
        Evidence => ("Evidence", "证据"),
        History => ("Review history", "审核历史"),
        Since => ("since", "开始"),
        Until => ("until", "结束"),
        By => ("by", "按"),
        NotFound => ("Not found.", "未找到。"),
        Language => ("中文", "English"),
        Search => ("Search", "搜索"),
        Ask => ("Ask", "提问"),
        AskHelp => (
            "Answers come from the stored posts only, each sentence citing the post it comes from; questions about one person are declined. Answering takes a while.",
            "答案只来自已存储的帖子，每句话都注明出处；针对个人的问题会被拒绝。回答需要一些时间。",
        ),
        Forecast => (
            "forecast, next 14 days (AutoETS, 95 % interval)",
            "预测，未来 14 天（AutoETS，95% 区间）",
        ),
        Topic => ("Topic", "话题"),
        TopicHelp => (
            "Topic {number} of build {build}: {size} posts ({share}), encoder {encoder}. Per day in {zone}; days under {min_cell} posts are suppressed.",
            "构建 {build} 的话题 {number}：{size} 条帖子（{share}），编码器 {encoder}。按 {zone} 的日期统计；少于 {min_cell} 条帖子的日期不予显示。",
        ),
        OverTime => ("Over time", "随时间变化"),
        TopicExamples => ("Example posts (pseudonymous, redacted at ingest)", "示例帖子（化名，采集时已脱敏）"),
        Graph => ("Graph", "关系图"),
        GraphHelp => (
            "The {shown} authors of highest PageRank and the links among them (size: PageRank; colour: community; hover for values). Pseudonyms only.",
            "PageRank 最高的 {shown} 位作者及其相互关系（大小：PageRank；颜色：社区；悬停查看数值）。仅显示化名。",
        ),
        NetworkPageHelp => (
            "Network build {build}: {nodes} pseudonymous authors, {edges} reply, repost and mention links; modularity {modularity}. Authors are shown by pseudonym only; nothing here identifies a person.",
            "网络构建 {build}：{nodes} 位化名作者，{edges} 条回复、转发和提及关系；模块度 {modularity}。作者仅以化名显示，此处不识别任何个人。",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_parse_and_differ() {
        assert_eq!(Locale::parse("zh-CN"), Some(Locale::Zh));
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        assert_eq!(Locale::parse("fr"), None);
        assert_ne!(Locale::En.text(Text::Alerts), Locale::Zh.text(Text::Alerts));
    }

    #[test]
    fn placeholders_match_in_both_languages() {
        for key in [
            Text::PostsScored,
            Text::TopicsHelp,
            Text::NetworkHelp,
            Text::NetworkPageHelp,
            Text::TopicHelp,
            Text::GraphHelp,
        ] {
            let (en, zh) = words(key);
            let holes = |s: &str| {
                let mut v: Vec<String> = s
                    .split('{')
                    .skip(1)
                    .filter_map(|p| p.split('}').next().map(str::to_string))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(holes(en), holes(zh), "{key:?}");
        }
    }
}
