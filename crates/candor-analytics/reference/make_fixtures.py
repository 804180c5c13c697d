#!/usr/bin/env python3
"""Writes the reference histograms that candor-analytics' samplers are tested against.

OpenDP's vetted measurements sample the discrete Laplace (`make_laplace` over integers) and the
discrete Gaussian (`make_gaussian` over integers) with fixed parameters; this script draws many
samples of each around zero and writes their histograms to `tests/fixtures/opendp.json`. The Rust
test `it::reference` then checks with a two-sample chi-squared test that Candor's samplers and
OpenDP's draw from the same distribution.

    python3 -m pip install opendp==0.16.0
    python3 crates/candor-analytics/reference/make_fixtures.py

OpenDP draws its randomness from the operating system, so a rerun gives different counts from
the same distribution; the committed file is the one the tests read.
"""

import collections
import importlib.metadata
import json
import pathlib
import sys

import opendp.prelude as dp

SAMPLES = 200_000
# Scales that are exact binary fractions, so OpenDP's rational conversion of the float is the
# very scale the Rust side uses (5/2 and σ = 3, σ² = 9).
LAPLACE_SCALE = 2.5
GAUSSIAN_SIGMA = 3.0


def histogram(measurement) -> dict:
    counts = collections.Counter(measurement([0] * SAMPLES))
    return {str(k): counts[k] for k in sorted(counts)}


def main() -> None:
    dp.enable_features("contrib")
    space = (dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int))
    laplace = dp.m.make_laplace(*space, scale=LAPLACE_SCALE)
    space2 = (dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int))
    gaussian = dp.m.make_gaussian(*space2, scale=GAUSSIAN_SIGMA)
    out = {
        "opendp_version": importlib.metadata.version("opendp"),
        "samples": SAMPLES,
        "discrete_laplace": {"scale": LAPLACE_SCALE, "counts": histogram(laplace)},
        "discrete_gaussian": {"sigma": GAUSSIAN_SIGMA, "counts": histogram(gaussian)},
    }
    path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "opendp.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
