//! The web application (axum): routes, sign-in and sessions, CSRF checks, roles, security
//! headers, and the JSON API under `/api/…`.
//!
//! | route | what | who |
//! |---|---|---|
//! | `GET /login`, `POST /login`, `POST /logout` | sign in and out | anyone / signed in |
//! | `GET /` | overview: volume and each dimension per day with 95 % bands and a 14-day forecast, newest alerts, latest runs | viewer |
//! | `GET /trends?metric&by&group&since&until` | trends explorer | viewer |
//! | `GET /posts?metric&by&group&bucket&value` | the posts behind a chart point | viewer |
//! | `GET /alerts`, `GET /alerts/{id}` | review queue, one alert with evidence and history | viewer |
//! | `POST /alerts/{id}/review` | record a review (form with the CSRF token) | reviewer |
//! | `GET /topics` | the newest topic build: topics with size, share and keywords | viewer |
//! | `GET /network` | the newest network: size, top authors by PageRank (pseudonyms), communities | viewer |
//! | `GET /search?q=…` | posts by words and meaning, fused | viewer |
//! | `GET /ask?q=…` | an answer from the posts only, each sentence citing its post (questions about one person declined) | viewer |
//! | `GET /provenance` | runs with models and sha256, crawl coverage | viewer |
//! | `GET /lang/{en,zh}` | switch the interface language | anyone |
//! | `GET /api/me` | `{user, role, csrf}` | viewer |
//! | `GET /api/trends`, `/api/alerts`, `/api/alerts/{id}`, `/api/posts`, `/api/topics`, `/api/network/top`, `/api/search`, `/api/ask`, `/api/provenance` | the CLI's `--json` shapes | viewer |
//! | `POST /api/alerts/{id}/review` | JSON `{status, note}` with header `X-CSRF-Token` | reviewer |
//!
//! Every response carries a Content-Security-Policy with no inline script or style
//! (`script-src 'self'`), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`
//! and `X-Frame-Options: DENY`; pages and API answers are not cached.

use crate::assets::{style_css, APP_JS};
use crate::auth::{
    dummy_hash, random_token, same_token, verify_password, LoginLimiter, Role, Session, Sessions,
    SESSION_TTL,
};
use crate::i18n::{Locale, Text};
use crate::pages;
use crate::source::{
    PostsQuery, SearchQuery, Source, SourceError, TrendQuery, OVERVIEW_HORIZON, OVERVIEW_METRICS,
};
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

/// How the server runs.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Mark cookies Secure (set when TLS is terminated in front of the server).
    pub secure_cookies: bool,
}

/// The shared state of the handlers.
pub struct App<S> {
    source: S,
    sessions: Sessions,
    limiter: LoginLimiter,
    opts: ServeOptions,
}

const SESSION_COOKIE: &str = "mp_session";
const LOGIN_COOKIE: &str = "mp_login";
const LANG_COOKIE: &str = "mp_lang";

/// The CSP of every response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The router over `source`.
pub fn router<S: Source>(source: S, opts: ServeOptions) -> Router {
    routes(App::new(source, opts))
}

impl<S> App<S> {
    fn new(source: S, opts: ServeOptions) -> Arc<App<S>> {
        Arc::new(App {
            source,
            sessions: Sessions::default(),
            limiter: LoginLimiter::default(),
            opts,
        })
    }
}

fn routes<S: Source>(app: Arc<App<S>>) -> Router {
    Router::new()
        .route("/login", get(login_page::<S>).post(login::<S>))
        .route("/logout", post(logout::<S>))
        .route("/lang/{code}", get(switch_language))
        .route("/", get(overview::<S>))
        .route("/trends", get(trends_page::<S>))
        .route("/posts", get(posts_page::<S>))
        .route("/alerts", get(alerts_page::<S>))
        .route("/alerts/{id}", get(alert_page::<S>))
        .route("/alerts/{id}/review", post(review_form::<S>))
        .route("/topics", get(topics_page::<S>))
        .route("/topics/{number}", get(topic_page::<S>))
        .route("/network", get(network_page::<S>))
        .route("/search", get(search_page::<S>))
        .route("/ask", get(ask_page::<S>))
        .route("/provenance", get(provenance_page::<S>))
        .route("/api/me", get(api_me))
        .route("/api/trends", get(api_trends::<S>))
        .route("/api/alerts", get(api_alerts::<S>))
        .route("/api/alerts/{id}", get(api_alert::<S>))
        .route("/api/alerts/{id}/review", post(api_review::<S>))
        .route("/api/posts", get(api_posts::<S>))
        .route("/api/topics", get(api_topics::<S>))
        .route("/api/topics/{number}", get(api_topic::<S>))
        .route("/api/network/top", get(api_network_top::<S>))
        .route("/api/network/graph", get(api_network_graph::<S>))
        .route("/api/search", get(api_search::<S>))
        .route("/api/ask", get(api_ask::<S>))
        .route("/api/provenance", get(api_provenance::<S>))
        .route("/static/app.js", get(app_js))
        .route("/static/style.css", get(style))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(app)
}

/// Serves `source` on `listener` until `shutdown` resolves.
pub async fn serve<S: Source>(
    listener: tokio::net::TcpListener,
    source: S,
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = App::new(source, opts);
    // The overview's charts are recomputed in the background before they expire.
    let warm = tokio::spawn({
        let app = app.clone();
        async move { app.source.keep_warm().await }
    });
    let served = axum::serve(
        listener,
        routes(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    warm.abort();
    served
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The value of cookie `name` in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(opts: &ServeOptions, name: &str, value: &str, path: &str, max_age: u64) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if opts.secure_cookies { "; Secure" } else { "" }
    )
}

fn locale(headers: &HeaderMap) -> Locale {
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|c| Locale::parse(&c)) {
        return l;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(Locale::parse)
        .unwrap_or(Locale::En)
}

fn session_of<S>(app: &App<S>, headers: &HeaderMap) -> Option<Session> {
    cookie(headers, SESSION_COOKIE).and_then(|t| app.sessions.get(&t))
}

/// A signed-in page request: its session and interface language. Without a session the
/// request is sent to the sign-in form.
struct Page {
    s: Session,
    loc: Locale,
}

impl<S: Source> FromRequestParts<Arc<App<S>>> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App<S>>) -> Result<Page, Response> {
        let loc = locale(&parts.headers);
        session_of(app, &parts.headers)
            .map(|s| Page { s, loc })
            .ok_or_else(to_login)
    }
}

/// A signed-in API request; without a session the answer is 401.
struct ApiUser(Session);

impl<S: Source> FromRequestParts<Arc<App<S>>> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App<S>>) -> Result<ApiUser, Response> {
        session_of(app, &parts.headers)
            .map(ApiUser)
            .ok_or_else(api_unauthorized)
    }
}

fn api_no_alert(id: i64) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("no alert {id}")})),
    )
        .into_response()
}

fn page(status: StatusCode, html: String) -> Response {
    (status, Html(html)).into_response()
}

fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

fn source_error(locale: Locale, session: Option<&Session>, e: SourceError) -> Response {
    match e {
        SourceError::BadRequest(m) => page(
            StatusCode::BAD_REQUEST,
            pages::message(locale, session, "400", &m),
        ),
        SourceError::Internal(m) => {
            tracing::error!(error = %m, "serve: reading failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                pages::message(
                    locale,
                    session,
                    "500",
                    "the data could not be read; see the server log",
                ),
            )
        }
    }
}

fn api_error(e: SourceError) -> Response {
    match e {
        SourceError::BadRequest(m) => {
            (StatusCode::BAD_REQUEST, Json(json!({ "error": m }))).into_response()
        }
        SourceError::Internal(m) => {
            tracing::error!(error = %m, "serve: reading failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "the data could not be read; see the server log"})),
            )
                .into_response()
        }
    }
}

fn api_unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "sign in first (POST /login)"})),
    )
        .into_response()
}

fn forbidden(locale: Locale, session: Option<&Session>, why: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        pages::message(locale, session, "403", why),
    )
}

async fn login_page<S: Source>(State(app): State<Arc<App<S>>>, headers: HeaderMap) -> Response {
    if session_of(&app, &headers).is_some() {
        return Redirect::to("/").into_response();
    }
    login_form(&app, locale(&headers), None, StatusCode::OK)
}

fn login_form<S>(
    app: &App<S>,
    locale: Locale,
    error: Option<Text>,
    status: StatusCode,
) -> Response {
    let token = random_token();
    let mut res = page(status, pages::login(locale, &token, error));
    if let Ok(v) =
        HeaderValue::from_str(&set_cookie(&app.opts, LOGIN_COOKIE, &token, "/login", 1800))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

async fn login<S: Source>(
    State(app): State<Arc<App<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let loc = locale(&headers);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !same_token(&form.csrf, &expected) {
        return forbidden(
            loc,
            None,
            "the sign-in form expired or came from another site; reload it",
        );
    }
    let ip = Some(peer.ip());
    if !app.limiter.allowed(ip, &form.name) {
        tracing::warn!(client = %peer.ip(), "serve: sign-in refused, too many failures");
        return login_form(
            &app,
            loc,
            Some(Text::TooManyLogins),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let account = match app.source.account(form.name.trim()).await {
        Ok(a) => a,
        Err(e) => return source_error(loc, None, e),
    };
    let hash = account
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let password = form.password.clone();
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let role = account.as_ref().and_then(|a| Role::parse(&a.role));
    let (Some(account), true, Some(role)) = (account, verified, role) else {
        app.limiter.failed(ip, &form.name);
        tracing::info!(client = %peer.ip(), "serve: sign-in failed");
        return login_form(&app, loc, Some(Text::LoginFailed), StatusCode::UNAUTHORIZED);
    };
    app.limiter.succeeded(&account.name);
    let token = app.sessions.start(&account.name, role);
    tracing::info!(user = %account.name, role = role.name(), "serve: signed in");
    let mut res = Redirect::to("/").into_response();
    let h = res.headers_mut();
    for c in [
        set_cookie(
            &app.opts,
            SESSION_COOKIE,
            &token,
            "/",
            SESSION_TTL.as_secs(),
        ),
        set_cookie(&app.opts, LOGIN_COOKIE, "", "/login", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    res
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout<S: Source>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let loc = locale(&headers);
    let Some(s) = session_of(&app, &headers) else {
        return to_login();
    };
    if !same_token(&form.csrf, &s.csrf) {
        return forbidden(loc, Some(&s), "missing or wrong CSRF token");
    }
    if let Some(t) = cookie(&headers, SESSION_COOKIE) {
        app.sessions.end(&t);
    }
    let mut res = to_login();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&app.opts, SESSION_COOKIE, "", "/", 0)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn switch_language(Path(code): Path<String>) -> Response {
    let Some(l) = Locale::parse(&code) else {
        return (StatusCode::NOT_FOUND, "language: en or zh").into_response();
    };
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict",
        l.code()
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn overview<S: Source>(State(app): State<Arc<App<S>>>, Page { s, loc }: Page) -> Response {
    let mut charts = Vec::new();
    for m in OVERVIEW_METRICS {
        match app.source.daily(m, OVERVIEW_HORIZON).await {
            Ok(mut chart) => {
                // A series too short or too small to forecast is drawn without one.
                let forecast = Some(chart["forecast"].take()).filter(|f| !f.is_null());
                charts.push((m.to_string(), chart["rows"].take(), forecast))
            }
            // A dimension without scores is left out of the overview.
            Err(SourceError::BadRequest(_)) if *m != "volume" => {}
            Err(e) => return source_error(loc, Some(&s), e),
        }
    }
    let alerts = match app.source.alerts(None, 5).await {
        Ok(a) => a,
        Err(e) => return source_error(loc, Some(&s), e),
    };
    let prov = match app.source.provenance().await {
        Ok(p) => p,
        Err(e) => return source_error(loc, Some(&s), e),
    };
    page(
        StatusCode::OK,
        pages::overview(loc, &s, &app.source.zone(), &charts, &alerts, &prov),
    )
}

async fn trends_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
    Query(mut q): Query<TrendQuery>,
) -> Response {
    for f in [&mut q.group, &mut q.since, &mut q.until] {
        if f.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *f = None;
        }
    }
    match app.source.trends(&q).await {
        Ok(rows) => page(StatusCode::OK, pages::trends(loc, &s, &q, &rows)),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn posts_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
    Query(q): Query<PostsQuery>,
) -> Response {
    let heading = format!(
        "{} · {}{}",
        q.metric.as_deref().unwrap_or("volume"),
        q.bucket,
        q.value
            .as_deref()
            .map(|v| format!(" · {} = {v}", q.group.as_deref().unwrap_or("group")))
            .unwrap_or_default()
    );
    match app.source.posts(&q).await {
        Ok(posts) => page(StatusCode::OK, pages::posts(loc, &s, &heading, &posts)),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn alerts_page<S: Source>(State(app): State<Arc<App<S>>>, Page { s, loc }: Page) -> Response {
    match app.source.alerts(None, 500).await {
        Ok(a) => page(StatusCode::OK, pages::alerts(loc, &s, &a)),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn alert_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
    Path(id): Path<i64>,
) -> Response {
    match app.source.alert(id).await {
        Ok(Some(a)) => page(StatusCode::OK, pages::alert(loc, &s, &a)),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            pages::message(loc, Some(&s), "404", loc.text(Text::NotFound)),
        ),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

#[derive(Deserialize)]
struct ReviewForm {
    csrf: String,
    status: String,
    #[serde(default)]
    note: String,
}

/// The statuses a review may set.
const STATUSES: &[&str] = &["new", "ack", "dismissed", "escalated"];
/// Longest review note.
const MAX_NOTE: usize = 2000;

fn check_review(status: &str, note: &str) -> Result<(), String> {
    if !STATUSES.contains(&status) {
        return Err(format!(
            "status {status:?}: expected one of {}",
            STATUSES.join(", ")
        ));
    }
    if note.chars().count() > MAX_NOTE {
        return Err(format!("the note is longer than {MAX_NOTE} characters"));
    }
    Ok(())
}

async fn review_form<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> Response {
    if !same_token(&form.csrf, &s.csrf) {
        return forbidden(loc, Some(&s), "missing or wrong CSRF token");
    }
    if !s.role.can_review() {
        return forbidden(loc, Some(&s), loc.text(Text::Forbidden));
    }
    if let Err(m) = check_review(&form.status, &form.note) {
        return page(
            StatusCode::BAD_REQUEST,
            pages::message(loc, Some(&s), "400", &m),
        );
    }
    match app
        .source
        .review(id, &form.status, &form.note, &s.user)
        .await
    {
        Ok(true) => {
            tracing::info!(alert = id, status = %form.status, reviewer = %s.user, "serve: alert reviewed");
            Redirect::to(&format!("/alerts/{id}")).into_response()
        }
        Ok(false) => page(
            StatusCode::NOT_FOUND,
            pages::message(loc, Some(&s), "404", loc.text(Text::NotFound)),
        ),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn provenance_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
) -> Response {
    match app.source.provenance().await {
        Ok(p) => page(StatusCode::OK, pages::provenance(loc, &s, &p)),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn api_me(ApiUser(s): ApiUser) -> Response {
    Json(json!({"user": s.user, "role": s.role.name(), "csrf": s.csrf})).into_response()
}

fn api_result(r: Result<Value, SourceError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => api_error(e),
    }
}

async fn api_trends<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Query(q): Query<TrendQuery>,
) -> Response {
    api_result(app.source.trends(&q).await)
}

#[derive(Deserialize)]
struct AlertsQuery {
    status: Option<String>,
    limit: Option<u32>,
}

async fn api_alerts<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Query(q): Query<AlertsQuery>,
) -> Response {
    api_result(
        app.source
            .alerts(q.status.as_deref(), q.limit.unwrap_or(100).min(1000))
            .await,
    )
}

async fn api_alert<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Path(id): Path<i64>,
) -> Response {
    match app.source.alert(id).await {
        Ok(Some(a)) => Json(a).into_response(),
        Ok(None) => api_no_alert(id),
        Err(e) => api_error(e),
    }
}

#[derive(Deserialize)]
struct ReviewBody {
    status: String,
    #[serde(default)]
    note: String,
}

async fn api_review<S: Source>(
    State(app): State<Arc<App<S>>>,
    ApiUser(s): ApiUser,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<ReviewBody>,
) -> Response {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !same_token(token, &s.csrf) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "missing or wrong X-CSRF-Token header (GET /api/me gives it)"})),
        )
            .into_response();
    }
    if !s.role.can_review() {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": format!("role {} may not review alerts", s.role.name())})),
        )
            .into_response();
    }
    if let Err(m) = check_review(&body.status, &body.note) {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": m }))).into_response();
    }
    match app
        .source
        .review(id, &body.status, &body.note, &s.user)
        .await
    {
        Ok(true) => match app.source.alert(id).await {
            Ok(Some(a)) => Json(a).into_response(),
            Ok(None) => api_no_alert(id),
            Err(e) => api_error(e),
        },
        Ok(false) => api_no_alert(id),
        Err(e) => api_error(e),
    }
}

async fn api_posts<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Query(q): Query<PostsQuery>,
) -> Response {
    api_result(app.source.posts(&q).await)
}

async fn api_provenance<S: Source>(State(app): State<Arc<App<S>>>, _user: ApiUser) -> Response {
    api_result(app.source.provenance().await)
}

async fn topics_page<S: Source>(State(app): State<Arc<App<S>>>, Page { s, loc }: Page) -> Response {
    match app.source.topics().await {
        Ok(t) => page(StatusCode::OK, pages::topics(loc, &s, t.as_ref())),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn api_topics<S: Source>(State(app): State<Arc<App<S>>>, _user: ApiUser) -> Response {
    match app.source.topics().await {
        Ok(Some(t)) => Json(t["topics"].clone()).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no topics built yet: run `mindpulse topics build` first"})),
        )
            .into_response(),
        Err(e) => api_error(e),
    }
}

async fn topic_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
    Path(number): Path<i64>,
) -> Response {
    match app.source.topic(number).await {
        Ok(Some(t)) => page(StatusCode::OK, pages::topic(loc, &s, &t)),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            pages::message(loc, Some(&s), "404", loc.text(Text::NotFound)),
        ),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn api_topic<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Path(number): Path<i64>,
) -> Response {
    match app.source.topic(number).await {
        Ok(Some(t)) => Json(t).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no topic {number} in the newest topic build (see /api/topics)")})),
        )
            .into_response(),
        Err(e) => api_error(e),
    }
}

/// Authors drawn on the network page.
const GRAPH_AUTHORS: u32 = 80;
/// Most authors `/api/network/graph` draws (the layout is quadratic in them).
const GRAPH_MAX: u32 = 300;

async fn network_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
) -> Response {
    let network = match app.source.network(20).await {
        Ok(n) => n,
        Err(e) => return source_error(loc, Some(&s), e),
    };
    let graph = match network {
        Some(_) => match app.source.network_graph(GRAPH_AUTHORS).await {
            Ok(g) => g,
            Err(e) => return source_error(loc, Some(&s), e),
        },
        None => None,
    };
    page(
        StatusCode::OK,
        pages::network(loc, &s, network.as_ref(), graph.as_ref()),
    )
}

async fn api_network_graph<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Query(q): Query<LimitQuery>,
) -> Response {
    match app
        .source
        .network_graph(q.limit.unwrap_or(GRAPH_AUTHORS).clamp(1, GRAPH_MAX))
        .await
    {
        Ok(Some(g)) => Json(g).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no network built yet: run `mindpulse network build` first"})),
        )
            .into_response(),
        Err(e) => api_error(e),
    }
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<u32>,
}

async fn api_network_top<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Query(q): Query<LimitQuery>,
) -> Response {
    match app
        .source
        .network(q.limit.unwrap_or(20).clamp(1, 1000))
        .await
    {
        Ok(Some(n)) => Json(n["top"].clone()).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no network built yet: run `mindpulse network build` first"})),
        )
            .into_response(),
        Err(e) => api_error(e),
    }
}

/// Checks a search's text and limit (the error names what was expected).
fn check_search(q: &SearchQuery) -> Result<(), SourceError> {
    if q.q.trim().is_empty() {
        return Err(SourceError::BadRequest(
            "q: the search text is empty".into(),
        ));
    }
    if q.q.chars().count() > 500 {
        return Err(SourceError::BadRequest("q: at most 500 characters".into()));
    }
    if matches!(q.limit, Some(l) if l == 0 || l > 50) {
        return Err(SourceError::BadRequest("limit: expected 1 to 50".into()));
    }
    Ok(())
}

async fn search_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
    Query(q): Query<SearchQuery>,
) -> Response {
    if q.q.trim().is_empty() {
        return page(StatusCode::OK, pages::search(loc, &s, "", None));
    }
    let result = match check_search(&q) {
        Ok(()) => app.source.search(&q).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(hits) => page(StatusCode::OK, pages::search(loc, &s, &q.q, Some(&hits))),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn api_search<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Query(q): Query<SearchQuery>,
) -> Response {
    if let Err(e) = check_search(&q) {
        return api_error(e);
    }
    api_result(app.source.search(&q).await)
}

#[derive(Deserialize)]
struct AskQuery {
    #[serde(default)]
    q: String,
}

fn check_question(q: &str) -> Result<(), SourceError> {
    if q.trim().is_empty() {
        return Err(SourceError::BadRequest("q: the question is empty".into()));
    }
    if q.chars().count() > 500 {
        return Err(SourceError::BadRequest("q: at most 500 characters".into()));
    }
    Ok(())
}

async fn ask_page<S: Source>(
    State(app): State<Arc<App<S>>>,
    Page { s, loc }: Page,
    Query(q): Query<AskQuery>,
) -> Response {
    if q.q.trim().is_empty() {
        return page(StatusCode::OK, pages::ask(loc, &s, "", None));
    }
    let result = match check_question(&q.q) {
        Ok(()) => app.source.ask(&q.q).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(out) => page(StatusCode::OK, pages::ask(loc, &s, &q.q, Some(&out))),
        Err(e) => source_error(loc, Some(&s), e),
    }
}

async fn api_ask<S: Source>(
    State(app): State<Arc<App<S>>>,
    _user: ApiUser,
    Query(q): Query<AskQuery>,
) -> Response {
    if let Err(e) = check_question(&q.q) {
        return api_error(e);
    }
    api_result(app.source.ask(&q.q).await)
}

async fn app_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        APP_JS,
    )
        .into_response()
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        style_css(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; mp_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("mp_lang=zh"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "mp_lang").as_deref(), Some("zh"));
        assert_eq!(cookie(&h, "x"), None);
        assert_eq!(locale(&h), Locale::Zh);
    }

    #[test]
    fn session_cookies_are_http_only_and_strict() {
        let c = set_cookie(
            &ServeOptions {
                secure_cookies: true,
            },
            "mp_session",
            "t",
            "/",
            60,
        );
        assert_eq!(
            c,
            "mp_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie(&ServeOptions::default(), "a", "b", "/", 1).contains("Secure"));
    }

    #[test]
    fn reviews_are_checked() {
        assert!(check_review("ack", "fine").is_ok());
        assert!(check_review("closed", "")
            .unwrap_err()
            .contains("expected one of"));
        assert!(check_review("ack", &"x".repeat(2001)).is_err());
    }
}
