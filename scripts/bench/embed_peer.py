#!/usr/bin/env python3
"""Embedding peer and reference generator: sentence-transformers / transformers on PyTorch (CPU).

    embed_peer.py bench MODEL_DIR TEXTS.jsonl OUT.npy [--batch-size 32] [--threads 2] [--repeat 3]
        Encodes the "text" field of every line (sentence-transformers sorts by length and pads
        per batch), L2-normalized; writes the float32 matrix to OUT.npy and prints one JSON
        line: {"texts", "seconds": [one per repeat], "load_seconds", "dim", "torch", ...}.
    embed_peer.py fixture MODEL_DIR OUT.json
        Reference embeddings of a few fixed texts for mindpulse-encoder's tests.
    embed_peer.py tiny OUT_DIR
        Tiny random BERT and XLM-RoBERTa models (HF format, WordLevel tokenizer) and their
        transformers outputs, for mindpulse-encoder's architecture tests.

Models load from local directories only (no hub access). Run it with the venv that
scripts/bench/setup_peer_venv.sh creates.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURE_TEXTS = [
    "I haven't slept properly in weeks and everything feels heavy.",
    "first sunny day in forever, walked around the park and smiled at strangers",
    "Exams are next week and I can't focus on anything, my chest feels tight all the time.",
    "Made fried rice from scratch and it was actually good!",
    "nobody would even notice if I disappeared",
    "Grateful for my friends who checked in on me today 💛",
    "work is fine I guess. same as always. tired.",
    "Does anyone else get anxious before phone calls? Like, physically sick anxious?",
    "打工人的周一又开始了，好累",
    "",
]


def bench(args) -> int:
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["MKL_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    texts = []
    with open(args.texts, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                v = json.loads(line)
                texts.append(v["text"] if isinstance(v, dict) else v)
    t0 = time.perf_counter()
    model = SentenceTransformer(args.model_dir, device="cpu")
    model.eval()
    load_seconds = time.perf_counter() - t0
    with torch.inference_mode():  # warm-up (allocations, oneDNN primitive creation)
        model.encode(texts[: min(len(texts), 64)], batch_size=args.batch_size, normalize_embeddings=True)
    seconds = []
    emb = None
    for _ in range(max(1, args.repeat)):
        t = time.perf_counter()
        with torch.inference_mode():
            emb = model.encode(
                texts,
                batch_size=args.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        seconds.append(time.perf_counter() - t)
    np.save(args.out, np.asarray(emb, dtype=np.float32))
    import sentence_transformers

    print(
        json.dumps(
            {
                "texts": len(texts),
                "seconds": seconds,
                "load_seconds": load_seconds,
                "dim": int(emb.shape[1]),
                "torch": torch.__version__,
                "sentence_transformers": sentence_transformers.__version__,
                "threads": torch.get_num_threads(),
            }
        )
    )
    return 0


def fixture(args) -> int:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    model = SentenceTransformer(args.model_dir, device="cpu")
    # Transformer + Pooling only (no Normalize module), to record the raw norms too.
    with torch.inference_mode():
        features = model.tokenize(FIXTURE_TEXTS)
        out = model[1](model[0](features))
        raw = out["sentence_embedding"].double().numpy()
    norms = np.linalg.norm(raw, axis=1)
    unit = raw / norms[:, None]
    tok = model.tokenizer
    out = {
        "model": os.path.basename(os.path.normpath(args.model_dir)),
        "generator": "scripts/bench/embed_peer.py fixture (sentence-transformers on PyTorch CPU)",
        "torch": torch.__version__,
        "texts": FIXTURE_TEXTS,
        "tokens": [len(tok(t)["input_ids"]) for t in FIXTURE_TEXTS],
        "norms": [round(float(n), 6) for n in norms],
        "first8": [[round(float(v), 7) for v in row[:8]] for row in unit],
        "embeddings": [[round(float(v), 7) for v in row] for row in unit],
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")
    return 0


def tiny(args) -> int:
    import numpy as np
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    words = "the a i you me my feel so very not sad happy tired today work sleep friends again good bad".split()
    texts = ["i feel so tired today", "my friends are good", "work work work again and again", "sad", "happy happy happy happy happy happy happy happy happy happy happy happy"]
    torch.manual_seed(0)
    for kind in ("bert", "xlmr"):
        if kind == "bert":
            special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
            vocab = {t: i for i, t in enumerate(special + words)}
            cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=32, max_position_embeddings=16, type_vocab_size=2, hidden_act="gelu",
                             layer_norm_eps=1e-12, pad_token_id=0)
            model = BertModel(cfg, add_pooling_layer=False)
            bos, eos, unk = "[CLS]", "[SEP]", "[UNK]"
            post = {"type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}},
                             {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": eos, "type_id": 1}}],
                    "special_tokens": {bos: {"id": bos, "ids": [vocab[bos]], "tokens": [bos]}, eos: {"id": eos, "ids": [vocab[eos]], "tokens": [eos]}}}
            pooling = {"pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}
            max_seq = 12
        else:
            special = ["<s>", "<pad>", "</s>", "<unk>"]
            vocab = {t: i for i, t in enumerate(special + words)}
            cfg = XLMRobertaConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=48, max_position_embeddings=16, type_vocab_size=1, hidden_act="gelu",
                                   layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)
            model = XLMRobertaModel(cfg, add_pooling_layer=False)
            bos, eos, unk = "<s>", "</s>", "<unk>"
            post = {"type": "RobertaProcessing", "sep": [eos, vocab[eos]], "cls": [bos, vocab[bos]],
                    "trim_offsets": True, "add_prefix_space": False}
            pooling = {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}
            max_seq = 14
        with torch.no_grad():  # larger weights than the default init so the layers matter
            for p in model.parameters():
                p.normal_(0.0, 0.5)
        model.eval()
        d = os.path.join(args.out_dir, f"tiny-{kind}")
        os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
        model.save_pretrained(d, safe_serialization=True)
        tokenizer = {
            "version": "1.0", "truncation": {"max_length": 4, "strategy": "LongestFirst", "stride": 0, "direction": "Right"},
            "padding": {"strategy": {"Fixed": 8}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 0, "pad_type_id": 0, "pad_token": special[0]},
            "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True} for t in special],
            "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": post, "decoder": None,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": unk},
        }
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            json.dump(tokenizer, f)
        with open(os.path.join(d, "1_Pooling", "config.json"), "w") as f:
            json.dump({"word_embedding_dimension": cfg.hidden_size, **pooling}, f)
        with open(os.path.join(d, "sentence_bert_config.json"), "w") as f:
            json.dump({"max_seq_length": max_seq, "do_lower_case": False}, f)
        with open(os.path.join(d, "modules.json"), "w") as f:
            json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                       {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                       {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}], f)
        expected = []
        for t in texts:
            ids = [vocab.get(w, vocab[unk]) for w in t.lower().split()]
            cut = max(0, len(ids) + 2 - max_seq)
            ids = [vocab[bos]] + ids[: len(ids) - cut] + [vocab[eos]]
            with torch.no_grad():
                h = model(input_ids=torch.tensor([ids])).last_hidden_state[0].double().numpy()
            v = h[0] if pooling["pooling_mode_cls_token"] else h.mean(axis=0)
            v = v / np.linalg.norm(v)
            expected.append({"text": t, "ids": ids, "truncated": cut, "embedding": [round(float(x), 7) for x in v]})
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump({"generator": "scripts/bench/embed_peer.py tiny (transformers on PyTorch)", "cases": expected}, f)
            f.write("\n")
        for junk in ("README.md",):
            p = os.path.join(d, junk)
            if os.path.exists(p):
                os.remove(p)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("model_dir")
    b.add_argument("texts")
    b.add_argument("out")
    b.add_argument("--batch-size", type=int, default=32)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--repeat", type=int, default=3)
    f = sub.add_parser("fixture")
    f.add_argument("model_dir")
    f.add_argument("out")
    t = sub.add_parser("tiny")
    t.add_argument("out_dir")
    args = ap.parse_args()
    return {"bench": bench, "fixture": fixture, "tiny": tiny}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
