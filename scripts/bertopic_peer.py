#!/usr/bin/env python3
"""BERTopic peer of `mindpulse bench topics`: BERTopic's default pipeline (UMAP + HDBSCAN +
c-TF-IDF) fitted on precomputed embeddings, so both topic models see the same vectors.

Run it with the venv of scripts/setup_topics_venv.sh:

    PY=$(scripts/setup_topics_venv.sh | tail -n1)
    $PY scripts/bertopic_peer.py --docs DOCS.jsonl --embeddings E.npy --out OUT.json \
        [--min-topic-size 15] [--seed 42] [--language english|chinese|multilingual]

DOCS.jsonl holds one JSON object per line, {"id": ..., "text": "..."}, in the row order of
E.npy (an n x d float array, float32 expected). Blank lines are skipped.

BERTopic runs with its defaults except: embedding_model=None (the embeddings are given),
min_topic_size as given, calculate_probabilities=False, and its default UMAP (n_neighbors=15,
n_components=5, min_dist=0.0, metric='cosine', low_memory=False) with random_state=seed
(which, as in umap-learn, also makes UMAP single-threaded). With --language chinese the
c-TF-IDF vectorizer is a CountVectorizer tokenizing with jieba (tokens without any word
character, i.e. punctuation and spaces, dropped); otherwise it is BERTopic's default
CountVectorizer.

OUT.json: {"labels": [topic per row, -1 = outlier], "n_topics": k (without -1),
"outlier_share": float, "fit_seconds": float (fit_transform only, time.perf_counter),
"versions": {...}, "keywords": {"0": [10 words], ...}}.

Exit codes: 0 ok, 2 bad input (message on stderr), 1 anything else.
"""
import argparse
import json
import os
import re
import sys
import time

MIN_ROWS = 16  # UMAP's default n_neighbors=15 needs more rows than neighbours


class BadInput(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", required=True, help="JSONL, one {\"id\", \"text\"} per line")
    p.add_argument("--embeddings", required=True, help=".npy, n x d float32, same row order")
    p.add_argument("--out", required=True, help="where to write the result JSON")
    p.add_argument("--min-topic-size", type=int, default=15)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--language", choices=["english", "chinese", "multilingual"], default="english")
    return p.parse_args(argv)


def load_docs(path):
    if not os.path.isfile(path):
        raise BadInput(f"docs file not found: {path}")
    texts = []
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise BadInput(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise BadInput(f"{path}:{lineno}: expected an object with a string \"text\"")
                texts.append(obj["text"])
    except UnicodeDecodeError as e:
        raise BadInput(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    return texts


def load_embeddings(path, n_docs):
    import numpy as np

    if not os.path.isfile(path):
        raise BadInput(f"embeddings file not found: {path}")
    try:
        emb = np.load(path, allow_pickle=False)
    except Exception as e:  # bad magic, pickled object arrays, truncated file, ...
        raise BadInput(f"{path}: cannot read as .npy ({e})") from None
    if not isinstance(emb, np.ndarray) or emb.ndim != 2:
        raise BadInput(f"{path}: expected a 2-d array, got shape {getattr(emb, 'shape', '?')}")
    if not (np.issubdtype(emb.dtype, np.floating) or np.issubdtype(emb.dtype, np.integer)):
        raise BadInput(f"{path}: expected a float array, got dtype {emb.dtype}")
    if emb.shape[0] != n_docs:
        raise BadInput(f"row count mismatch: {n_docs} docs but {emb.shape[0]} embedding rows")
    if emb.shape[1] < 1:
        raise BadInput(f"{path}: embeddings have no columns")
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    finite = np.isfinite(emb)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=1))
        raise BadInput(f"{path}: {bad.size} rows hold NaN or infinite values (first: row {bad[0]})")
    return emb


def chinese_vectorizer():
    import logging

    import jieba
    from sklearn.feature_extraction.text import CountVectorizer

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()  # load the dictionary now, outside the timed fit
    word = re.compile(r"\w")

    def tokenize_zh(text):
        return [t for t in jieba.lcut(text) if word.search(t)]

    return CountVectorizer(tokenizer=tokenize_zh, token_pattern=None)


def run(args):
    if args.min_topic_size < 2:
        raise BadInput(f"--min-topic-size must be at least 2, got {args.min_topic_size}")
    docs = load_docs(args.docs)
    if len(docs) < MIN_ROWS:
        raise BadInput(f"{args.docs}: {len(docs)} docs, at least {MIN_ROWS} are needed")
    emb = load_embeddings(args.embeddings, len(docs))

    import hdbscan
    import numpy as np
    import sklearn
    import umap
    import bertopic
    from bertopic import BERTopic

    umap_model = umap.UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                           low_memory=False, random_state=args.seed)
    vectorizer = chinese_vectorizer() if args.language == "chinese" else None
    model = BERTopic(
        language="english" if args.language == "english" else "multilingual",
        embedding_model=None,
        umap_model=umap_model,
        vectorizer_model=vectorizer,
        min_topic_size=args.min_topic_size,
        calculate_probabilities=False,
    )
    t0 = time.perf_counter()
    topics, _ = model.fit_transform(docs, embeddings=emb)
    fit_seconds = time.perf_counter() - t0

    labels = [int(t) for t in topics]
    topic_ids = sorted({t for t in labels if t != -1})
    keywords = {}
    for t in topic_ids:
        words = model.get_topic(t) or []
        keywords[str(t)] = [w for w, _ in words if w][:10]
    result = {
        "labels": labels,
        "n_topics": len(topic_ids),
        "outlier_share": float(np.mean(np.asarray(labels) == -1)),
        "fit_seconds": fit_seconds,
        "versions": {
            "bertopic": bertopic.__version__,
            "umap": umap.__version__ if hasattr(umap, "__version__") else _dist_version("umap-learn"),
            "hdbscan": _dist_version("hdbscan"),
            "sklearn": sklearn.__version__,
        },
        "keywords": keywords,
    }
    if args.language == "chinese":
        import jieba
        result["versions"]["jieba"] = jieba.__version__
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"{len(labels)} docs, {result['n_topics']} topics, outliers "
          f"{result['outlier_share']:.3f}, fit {fit_seconds:.2f}s -> {args.out}", file=sys.stderr)


def _dist_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except BadInput as e:
        print(f"bertopic_peer: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
