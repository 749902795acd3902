"""Uncertainty ranges for the lab's figures: a Wilson score interval for a rate and a seeded
percentile bootstrap for a mean amount of money.

Both answer "how sure are we?", so that three lucky videos are not crowned over three hundred
steady ones. Rates are floats (they are not money); money stays exact: the bootstrap draws
whole cents and sums integers, and only the two bounds become Decimal yuan, rounded once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from statistics import NormalDist

import numpy as np

from workbench.platform.money import yuan

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 19  # any fixed number: the same data always gives the same interval
MAX_DRAWS = 50_000_000  # resamples × values one bootstrap may draw (~0.5 s)
_CHUNK = 100  # resamples drawn at a time (bounds memory to _CHUNK × n indices)
_SAFE = 2**62  # an int64 sum of cents stays exact below this


def z_value(confidence: float = CONFIDENCE) -> float:
    """The two-sided normal quantile: 1.959963… for 95 %."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Wilson score interval for k successes in n trials (Wilson 1927):

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) · √(p(1 − p)/n + z²/4n²),   p = k/n

    None when it is not a proportion: n ≤ 0, or k outside 0…n (e.g. more interactions than
    views, which a platform's counts allow)."""
    if n <= 0 or not 0 <= k <= n:
        return None
    z = z_value(confidence)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_mean(cents: Sequence[int], *, resamples: int = RESAMPLES, seed: int = SEED,
                   confidence: float = CONFIDENCE) -> tuple[Decimal, Decimal] | None:
    """A percentile bootstrap interval for the mean of `cents` (whole cents), in yuan.

    `resamples` times, draw len(cents) values with replacement (numpy's PCG64 seeded with
    `seed`, so the same values give the same interval) and sum them; the bounds are the sums
    at positions ⌊B·α/2⌋ and ⌈B·(1 − α/2)⌉ − 1 of the sorted B sums (α = 1 − confidence;
    50 and 1949 for B = 2000 at 95 %), divided by n and rounded half up to 0.01 yuan. None for
    no values. With one value (or all equal) the interval is that value: the bootstrap cannot
    see a spread it was never shown, which is why callers also flag small samples."""
    n = len(cents)
    if n == 0:
        return None
    if resamples * n > MAX_DRAWS:
        raise ValueError(f"bootstrap of {n} values × {resamples} resamples exceeds {MAX_DRAWS}")
    exact = max(abs(c) for c in cents) * n < _SAFE
    values = np.array(cents, dtype=np.int64 if exact else object)
    rng = np.random.default_rng(seed)
    sums: list[int] = []
    for start in range(0, resamples, _CHUNK):
        picks = rng.integers(0, n, size=(min(_CHUNK, resamples - start), n))
        sums.extend(int(total) for total in values[picks].sum(axis=1))
    sums.sort()
    alpha = 1 - confidence
    low = sums[math.floor(resamples * alpha / 2)]
    high = sums[math.ceil(resamples * (1 - alpha / 2)) - 1]
    return yuan(Decimal(low) / n / 100), yuan(Decimal(high) / n / 100)
