"""Reference results from pynssp 0.1.0 for mindpulse-detect's EWMA and regression.

Prints one JSON object: {"pynssp": version, "cases": [...]}, each case
{"series", "detector", "values", "weekdays" (0 = Monday, or null), "p_values" (null where
pynssp gives NaN), "alerts" ("red" | "yellow" | "blue" | "grey")}.

Series: pynssp's own simulated series (load_simulated_ts: two weekly scenarios; the
regression needs days of the week, so it runs on the same values dated as consecutive
days from 2017-01-01, since pynssp's regression fails on weekly dates), a seeded daily
Poisson series with a weekday pattern and an injected outbreak, and a seeded daily
prevalence series (as a share in [0, 1] and in percent).
"""
import json
import sys
import warnings

import numpy as np
import pandas as pd
import pynssp
from pynssp import alert_ewma, alert_regression, load_simulated_ts

warnings.filterwarnings("ignore")


def run(detector, values, dates):
    df = pd.DataFrame({"date": dates, "count": values})
    fn = alert_ewma if detector == "ewma" else alert_regression
    out = fn(df, t="date", y="count").sort_values("date")
    p = [None if np.isnan(x) else float(x) for x in out["p_value"]]
    return p, [str(a) for a in out["alert"]]


def case(name, detector, values, dates, weekdays):
    p, alerts = run(detector, values, dates)
    return {
        "series": name,
        "detector": detector,
        "values": [float(v) for v in values],
        "weekdays": weekdays,
        "p_values": p,
        "alerts": alerts,
    }


def daily(n, start="2017-01-01"):
    dates = pd.date_range(start, periods=n, freq="D")
    return dates, [int(d.weekday()) for d in dates]


def main():
    cases = []
    sim = load_simulated_ts()
    for scen in sorted(sim["id"].unique()):
        s = sim[sim["id"] == scen].sort_values("date")
        values = s["cases"].astype(float).tolist()
        weekly = pd.to_datetime(s["date"]).tolist()
        cases.append(case(f"simulated_ts {scen} (weekly)", "ewma", values, weekly, None))
        dates, wd = daily(len(values))
        cases.append(case(f"simulated_ts {scen} (as daily)", "regression", values, dates, wd))
    rng = np.random.default_rng(20240611)
    n = 240
    dates, wd = daily(n, "2023-03-01")
    pattern = np.array([1.2, 1.1, 1.0, 1.0, 0.95, 0.8, 0.75])
    mu = 25 * pattern[wd] * (1 + 0.1 * np.sin(np.arange(n) * 2 * np.pi / 120))
    mu[180:190] += np.array([2, 4, 8, 12, 15, 12, 8, 5, 3, 2]) * 1.5
    counts = rng.poisson(mu).astype(float).tolist()
    for det in ("ewma", "regression"):
        cases.append(case("seeded daily Poisson with outbreak", det, counts, dates, wd))
    k = rng.binomial(400, 0.08 * pattern[wd] / pattern.mean())
    k[150:156] += np.array([10, 20, 30, 30, 20, 10])
    # ESSENCE's standard-error floors are absolute (meant for counts and percentages), so a
    # share in [0, 1] never alerts there; the same share in percent does.
    prev = (k / 400.0).tolist()
    for det in ("ewma", "regression"):
        cases.append(case("seeded daily prevalence (share)", det, prev, dates, wd))
    pct = (k / 4.0).tolist()
    for det in ("ewma", "regression"):
        cases.append(case("seeded daily prevalence (percent)", det, pct, dates, wd))
    json.dump({"pynssp": getattr(pynssp, "__version__", "0.1.0"), "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
