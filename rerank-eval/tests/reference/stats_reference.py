"""Reference values from scipy for the significance tests (tests/stats_scipy.rs).

Writes tests/data/stats_reference.json: seeded random paired samples (per-query scores
of two systems) and, for each, scipy's paired t-test (`ttest_rel`), the exact paired
permutation test (`permutation_test`, permutation_type="samples"; small n only), the
percentile bootstrap interval of the mean difference (`bootstrap`, 20,000 resamples)
and the paired effect size mean(d)/std(d, ddof=1).

usage: python stats_reference.py OUT.json
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats


def main(out):
    rng = np.random.default_rng(20261123)
    cases = []
    for i, n in enumerate([5, 6, 8, 10, 12, 15, 20, 30, 50, 93, 200] * 3):
        base = rng.beta(2, 5, size=n)
        shift = rng.normal(loc=[0.0, 0.02, 0.1][i % 3], scale=0.1, size=n)
        other = np.clip(base + shift, 0, 1)
        a, b = base.tolist(), other.tolist()
        t = stats.ttest_rel(b, a)
        d = np.array(b) - np.array(a)
        case = {
            "a": a,
            "b": b,
            "t": float(t.statistic),
            "p": float(t.pvalue),
            "effect_size": float(d.mean() / d.std(ddof=1)),
        }
        if n <= 12:
            perm = stats.permutation_test(
                (b, a), lambda x, y: np.mean(x - y), permutation_type="samples",
                n_resamples=np.inf, alternative="two-sided")
            case["randomization_exact_p"] = float(perm.pvalue)
        boot = stats.bootstrap((d,), np.mean, n_resamples=20000, confidence_level=0.95,
                               method="percentile", random_state=np.random.default_rng(i))
        case["bootstrap_low"] = float(boot.confidence_interval.low)
        case["bootstrap_high"] = float(boot.confidence_interval.high)
        cases.append(case)
    with open(out, "w") as f:
        json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
