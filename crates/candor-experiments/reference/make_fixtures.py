#!/usr/bin/env python3
"""Writes ../tests/fixtures/stats.json: inputs and reference results for the experiments'
statistics, computed with scipy and statsmodels (and, where neither has the method, computed a
second way: the mSPRT's likelihood ratio by numerical integration over the mixture, its
interval by root finding).

    python3 crates/candor-experiments/reference/make_fixtures.py

Needs numpy, scipy and statsmodels. The data are drawn from a fixed seed and rounded to six
decimals, so the JSON holds exactly the numbers both sides read.
"""

import json
import math
from pathlib import Path

import numpy as np
from scipy import integrate, optimize, stats
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05
rng = np.random.default_rng(20261206)


def r6(values):
    return [round(float(v), 6) for v in values]


def welch_result(a, b, alpha):
    """scipy's Welch test of b - a, as the fixtures' fields."""
    res = stats.ttest_ind(b, a, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return {
        "alpha": alpha,
        "effect": float(b.mean() - a.mean()),
        "statistic": float(res.statistic),
        "df": float(res.df),
        "p_value": float(res.pvalue),
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
    }


def welch_case(name, a, b, alpha=ALPHA):
    a, b = np.array(r6(a)), np.array(r6(b))
    return {"name": name, "control": a.tolist(), "treatment": b.tolist(), **welch_result(a, b, alpha)}


def delta_case(name, num_a, den_a, num_b, den_b, alpha=ALPHA):
    arms = []
    for num, den in ((num_a, den_a), (num_b, den_b)):
        num, den = np.array(r6(num)), np.array(r6(den))
        n = len(num)
        cov = np.cov(num, den, ddof=1)
        r = num.mean() / den.mean()
        var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (n * den.mean() ** 2)
        arms.append((num, den, r, var))
    (na, da, ra, va), (nb, db, rb, vb) = arms
    effect = rb - ra
    se = math.sqrt(va + vb)
    z = effect / se
    q = stats.norm.ppf(1 - alpha / 2)
    return {
        "name": name,
        "control_num": na.tolist(),
        "control_den": da.tolist(),
        "treatment_num": nb.tolist(),
        "treatment_den": db.tolist(),
        "alpha": alpha,
        "control_ratio": float(ra),
        "control_variance": float(va),
        "treatment_ratio": float(rb),
        "treatment_variance": float(vb),
        "effect": float(effect),
        "statistic": float(z),
        "p_value": float(2 * stats.norm.sf(abs(z))),
        "ci_low": float(effect - q * se),
        "ci_high": float(effect + q * se),
    }


def cuped_case(name, ya, xa, yb, xb, alpha=ALPHA):
    ya, xa, yb, xb = (np.array(r6(v)) for v in (ya, xa, yb, xb))
    y = np.concatenate([ya, yb])
    x = np.concatenate([xa, xb])
    fit = OLS(y, np.column_stack([np.ones_like(x), x])).fit()
    theta = float(fit.params[1])
    adj_a = ya - theta * (xa - x.mean())
    adj_b = yb - theta * (xb - x.mean())
    return {
        "name": name,
        "control_y": ya.tolist(),
        "control_x": xa.tolist(),
        "treatment_y": yb.tolist(),
        "treatment_x": xb.tolist(),
        "theta": theta,
        "control_mean": float(adj_a.mean()),
        "control_variance": float(adj_a.var(ddof=1)),
        "treatment_mean": float(adj_b.mean()),
        "treatment_variance": float(adj_b.var(ddof=1)),
        **welch_result(adj_a, adj_b, alpha),
    }


def srm_case(name, observed, weights):
    observed = np.array(observed, dtype=float)
    weights = np.array(weights, dtype=float)
    expected = observed.sum() * weights / weights.sum()
    res = stats.chisquare(observed, f_exp=expected)
    return {
        "name": name,
        "observed": [int(o) for o in observed],
        "weights": weights.tolist(),
        "chi_squared": float(res.statistic),
        "p_value": float(res.pvalue),
        "flagged": bool(res.pvalue < 0.001),
    }


def msprt_case(name, estimate, variance, tau_sq, alpha=ALPHA):
    # Λ(θ0) = ∫ N(d; θ, v) / N(d; θ0, v) · N(θ; θ0, τ²) dθ, integrated numerically.
    def log_lambda(theta0):
        d = estimate - theta0
        scale = math.sqrt(tau_sq)

        def log_integrand(t):
            return (2 * t * d - t * t) / (2 * variance) - t * t / (2 * tau_sq) - math.log(
                scale * math.sqrt(2 * math.pi)
            )

        # The integrand's mass sits near its peak; split there so quad finds it, and integrate
        # it relative to its peak value so nothing overflows.
        peak = d * tau_sq / (variance + tau_sq)
        width = math.sqrt(variance * tau_sq / (variance + tau_sq))
        top = log_integrand(peak)
        parts = [
            integrate.quad(
                lambda t: math.exp(log_integrand(t) - top), lo, hi, epsabs=0, epsrel=1e-13, limit=200
            )[0]
            for lo, hi in (
                (-math.inf, peak - 10 * width),
                (peak - 10 * width, peak),
                (peak, peak + 10 * width),
                (peak + 10 * width, math.inf),
            )
        ]
        return math.log(sum(parts)) + top

    p = min(1.0, math.exp(-log_lambda(0.0)))
    target = math.log(1 / alpha)
    # The interval's ends: where log Λ(θ0) crosses log(1/α), on each side of the estimate.
    far = 50 * math.sqrt(variance + tau_sq)
    low = optimize.brentq(lambda t: log_lambda(t) - target, estimate - far, estimate, xtol=1e-14, rtol=1e-15)
    high = optimize.brentq(lambda t: log_lambda(t) - target, estimate, estimate + far, xtol=1e-14, rtol=1e-15)
    return {
        "name": name,
        "estimate": estimate,
        "variance": variance,
        "tau_sq": tau_sq,
        "alpha": alpha,
        "p_value": p,
        "ci_low": low,
        "ci_high": high,
    }


def adjust_case(name, p_values):
    p_values = r6(p_values)
    return {
        "name": name,
        "p_values": p_values,
        "holm": multipletests(p_values, method="holm")[1].tolist(),
        "benjamini_hochberg": multipletests(p_values, method="fdr_bh")[1].tolist(),
    }


def main():
    welch = [
        welch_case("normal, equal sizes", rng.normal(10, 2, 40), rng.normal(11, 2, 40)),
        welch_case("unequal sizes and spreads", rng.normal(5, 1, 25), rng.normal(5.3, 4, 90)),
        welch_case("no effect", rng.normal(0, 1, 60), rng.normal(0, 1, 55)),
        welch_case("strong effect", rng.normal(0, 1, 200), rng.normal(1.2, 1, 200)),
        welch_case(
            "conversions",
            rng.binomial(1, 0.10, 300),
            rng.binomial(1, 0.16, 300),
        ),
        welch_case(
            "skewed revenue, 99% interval",
            rng.lognormal(3, 1, 150) * rng.binomial(1, 0.3, 150),
            rng.lognormal(3.1, 1, 160) * rng.binomial(1, 0.3, 160),
            alpha=0.01,
        ),
    ]
    clicks_a = rng.poisson(3, 120) + 1
    clicks_b = rng.poisson(3.3, 130) + 1
    delta = [
        delta_case(
            "revenue per click",
            clicks_a * rng.gamma(2, 5, 120),
            clicks_a,
            clicks_b * rng.gamma(2, 5.5, 130),
            clicks_b,
        ),
        delta_case(
            "clicks per view",
            rng.binomial(10, 0.2, 80),
            np.full(80, 10) + rng.integers(0, 5, 80),
            rng.binomial(10, 0.25, 90),
            np.full(90, 10) + rng.integers(0, 5, 90),
            alpha=0.1,
        ),
    ]
    pre_a = rng.gamma(2, 10, 150)
    pre_b = rng.gamma(2, 10, 140)
    cuped = [
        cuped_case(
            "revenue with its pre-period",
            pre_a * 0.8 + rng.normal(0, 5, 150),
            pre_a,
            pre_b * 0.8 + 2 + rng.normal(0, 5, 140),
            pre_b,
        ),
        cuped_case(
            "weak covariate",
            rng.normal(1, 1, 50),
            rng.normal(0, 1, 50),
            rng.normal(1.4, 1, 60),
            rng.normal(0, 1, 60),
        ),
    ]
    srm = [
        srm_case("balanced 50/50", [5021, 4979], [5000, 5000]),
        srm_case("broken 50/50", [5200, 4800], [5000, 5000]),
        srm_case("three arms with holdout", [4410, 4530, 1060], [4500, 4500, 1000]),
        srm_case("uneven allocation", [7120, 2880], [7000, 3000]),
    ]
    msprt = [
        msprt_case("no evidence", 0.01, 0.0025, 0.01),
        msprt_case("some evidence", 0.12, 0.0016, 0.01),
        msprt_case("strong evidence", -0.5, 0.001, 0.04),
        msprt_case("tiny mixture", 0.2, 0.004, 0.0001),
        msprt_case("revenue scale", 3.5, 1.8, 4.0, alpha=0.1),
    ]
    adjust = [
        adjust_case("mixed", [0.01, 0.04, 0.03, 0.005, 0.2]),
        adjust_case("ties and ones", [0.02, 0.02, 1.0, 0.5, 0.0001, 0.049]),
        adjust_case("one", [0.03]),
    ]
    out = {
        "generated_by": "crates/candor-experiments/reference/make_fixtures.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": __import__("scipy").__version__,
            "statsmodels": __import__("statsmodels").__version__,
        },
        "welch": welch,
        "delta": delta,
        "cuped": cuped,
        "srm": srm,
        "msprt": msprt,
        "adjust": adjust,
    }
    path = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stats.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
