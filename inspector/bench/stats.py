"""Statistics for latency samples: a median you can trust and when to stop measuring.

Numpy only; no clock is read here except through the ``clock`` a caller passes,
so every rule can be tested on synthetic samples.

* :func:`median_ci` — the median with a distribution-free confidence interval
  from order statistics (the number of samples below the true median is
  Binomial(n, ½), so ranks ``j < k`` with ``P(j ≤ B < k) ≥ 95 %`` bracket it).
* :func:`run_adaptive` — repeat interleaved rounds until every variant's
  median interval is within ±``tol`` of its median, or the time budget or
  round limit is reached.
* :func:`compare` / :func:`noise_labels` — "within noise" when two intervals
  overlap; a variant faster than the no-BN floor is a measurement artefact.
* :func:`paired_ratio_ci` — the per-round ratio of two interleaved variants,
  robust to drift that moves both.

Example::

    ci = median_ci([1.02, 0.98, 1.00, 1.01, 0.99, 1.00, 1.03, 0.97])
    ci.median, ci.low, ci.high, ci.rel_half_width
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

#: Below this many samples the order-statistic interval is computed exactly;
#: above it the normal approximation of the binomial is used.
_EXACT_LIMIT = 1000


@dataclass(frozen=True)
class MedianCI:
    """A sample median and a confidence interval for the population median.

    ``coverage`` is the interval's actual coverage; with fewer than 6 samples
    no pair of order statistics reaches 95 % and the interval is [min, max]
    with a lower coverage (``reached`` is then False).
    """

    median: float
    low: float
    high: float
    n: int
    coverage: float

    @property
    def reached(self) -> bool:
        return self.coverage >= 0.95 - 1e-12

    @property
    def rel_half_width(self) -> float:
        """Largest distance from the median to an end of the interval, relative to the median."""
        if self.median <= 0:
            return math.inf
        return max(self.median - self.low, self.high - self.median) / self.median

    def overlaps(self, other: MedianCI) -> bool:
        return self.low <= other.high and other.low <= self.high


def _binom_cdf_table(n: int) -> np.ndarray:
    """P(B ≤ i) for B ~ Binomial(n, ½), i = 0..n (exact integer arithmetic)."""
    total = 2 ** n
    return np.cumsum([math.comb(n, i) / total for i in range(n + 1)])


@functools.lru_cache(maxsize=4096)
def order_statistic_ranks(n: int, confidence: float = 0.95) -> tuple[int, int, float]:
    """0-based ranks ``(j, k)`` of the sorted sample bracketing the median with at
    least ``confidence`` coverage, and the exact coverage ``P(j+1 ≤ B ≤ k)``.

    The interval is symmetric (k = n − 1 − j) and as narrow as possible; when no
    symmetric pair reaches ``confidence`` the full range is returned.
    """
    if n < 1:
        raise ValueError("need at least one sample")
    if n > _EXACT_LIMIT:
        z = _z(confidence)
        half = z * math.sqrt(n) / 2
        j = max(0, int(math.floor(n / 2 - half)) - 1)
        return j, n - 1 - j, confidence
    cdf = _binom_cdf_table(n)
    best = (0, n - 1, 1.0 - 2 * (0.5 ** n))
    for j in range(0, n // 2):
        k = n - 1 - j
        # median in [x_(j), x_(k)] (0-based) <=> j+1 <= B <= k, B = #samples below it
        cover = cdf[k] - cdf[j]
        if cover >= confidence:
            best = (j, k, float(cover))
        else:
            break
    return best


def _z(confidence: float) -> float:
    """Two-sided normal quantile (bisection on erf; no scipy)."""
    lo, hi = 0.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < confidence:
            lo = mid
        else:
            hi = mid
    return hi


def median_ci(samples: Sequence[float], confidence: float = 0.95) -> MedianCI:
    """The median of ``samples`` and its distribution-free ``confidence`` interval."""
    arr = np.sort(np.asarray(samples, dtype=np.float64))
    if arr.size == 0:
        raise ValueError("need at least one sample")
    j, k, cover = order_statistic_ranks(arr.size, confidence)
    return MedianCI(float(np.median(arr)), float(arr[j]), float(arr[k]), int(arr.size), cover)


@dataclass(frozen=True)
class StoppingRule:
    """When adaptive timing stops.

    Attributes:
        tol: target relative half-width of every variant's median interval (±2 %).
        budget_s: wall-clock seconds for the measured rounds (warm-up excluded).
        min_rounds: never stop earlier (the interval needs ≥ 6 samples to mean 95 %).
        max_rounds: hard cap on rounds.
        confidence: interval coverage.
    """

    tol: float = 0.02
    budget_s: float = 20.0
    min_rounds: int = 10
    max_rounds: int = 2000
    confidence: float = 0.95

    def decide(self, times: Mapping[str, Sequence[float]], elapsed: float) -> str | None:
        """``"converged"``, ``"budget"``, ``"max_rounds"`` or None (keep going)."""
        rounds = min((len(v) for v in times.values()), default=0)
        if rounds >= self.min_rounds and all(
            (ci := median_ci(v, self.confidence)).reached and ci.rel_half_width <= self.tol
            for v in times.values()
        ):
            return "converged"
        if rounds >= self.max_rounds:
            return "max_rounds"
        if elapsed >= self.budget_s:
            return "budget"
        return None


@dataclass
class AdaptiveRun:
    """Samples per variant and why measuring stopped."""

    times: dict[str, list[float]]
    rounds: int
    stop_reason: str
    seconds: float
    widths: list[float] = field(default_factory=list)  # worst rel. half-width after each check


def run_adaptive(
    one_round: Callable[[int], Mapping[str, float]],
    rule: StoppingRule,
    *,
    clock: Callable[[], float] = time.perf_counter,
    progress: Callable[[str, float], None] | None = None,
    check_every: int = 1,
) -> AdaptiveRun:
    """Call ``one_round(i)`` (one sample per variant) until ``rule`` says stop.

    ``progress(message, fraction)`` gets the worst current interval width and
    the fraction of the budget (or of convergence, whichever is further) used.
    """
    say = progress or (lambda msg, frac: None)
    times: dict[str, list[float]] = {}
    start = clock()
    widths: list[float] = []
    i = 0
    while True:
        for name, t in one_round(i).items():
            times.setdefault(name, []).append(float(t))
        i += 1
        if i % check_every and i < rule.max_rounds:
            continue
        elapsed = clock() - start
        worst = worst_width(times, rule.confidence)
        widths.append(worst)
        reason = rule.decide(times, elapsed)
        frac = max(elapsed / rule.budget_s if rule.budget_s > 0 else 1.0, i / rule.max_rounds,
                   min(1.0, rule.tol / worst) if worst > 0 and i >= rule.min_rounds else 0.0)
        say(f"round {i}: widest 95 % interval ±{worst:.1%} (target ±{rule.tol:.0%}), "
            f"{elapsed:.1f} of {rule.budget_s:.0f} s", min(frac, 1.0))
        if reason:
            return AdaptiveRun(times, i, reason, elapsed, widths)


def paired_ratio_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> MedianCI:
    """Median of the per-round ratios ``a[i] / b[i]`` with its interval.

    Interleaved rounds pair the samples: both variants ran within the same
    round, so slow drift of a busy machine cancels in the ratio and the
    interval is usually much narrower than the two medians' intervals.
    """
    if len(a) != len(b) or not len(a):
        raise ValueError("paired ratios need two equally long, non-empty sample lists")
    return median_ci(np.asarray(a, dtype=np.float64) / np.asarray(b, dtype=np.float64), confidence)


def worst_width(times: Mapping[str, Sequence[float]], confidence: float = 0.95) -> float:
    """The widest relative half-width among the variants' median intervals."""
    widths = [median_ci(v, confidence).rel_half_width for v in times.values() if len(v)]
    return max(widths, default=math.inf)


def compare(a: MedianCI, b: MedianCI) -> str:
    """``"within noise"`` when the intervals overlap, else ``"faster"``/``"slower"`` (a vs b)."""
    if a.overlaps(b):
        return "within noise"
    return "faster" if a.median < b.median else "slower"


def noise_labels(cis: Mapping[str, MedianCI], reference: str = "original",
                 floor: str = "floor") -> dict[str, str]:
    """A one-phrase verdict per variant against ``reference`` and the floor.

    A variant (other than the floor) whose interval lies entirely below the
    floor's is labelled a measurement artefact: nothing equivalent to the
    model can beat the model without BNs.
    """
    out: dict[str, str] = {}
    ref = cis.get(reference)
    low = cis.get(floor)
    for name, ci in cis.items():
        if name == reference:
            out[name] = "reference"
            continue
        parts = []
        if ref is not None:
            verdict = compare(ci, ref)
            if verdict == "within noise":
                parts.append(f"within noise of {reference}")
            else:
                diff = ci.median / ref.median - 1 if ref.median else 0.0
                parts.append(f"{verdict} than {reference} ({diff:+.1%})")
        if low is not None and name != floor and ci.high < low.low:
            parts.append("faster than the no-BN floor: measurement artefact")
        out[name] = "; ".join(parts)
    return out


def artefacts(cis: Mapping[str, MedianCI], floor: str = "floor") -> list[str]:
    """Variants measured significantly faster than the floor (intervals disjoint)."""
    low = cis.get(floor)
    if low is None:
        return []
    return [n for n, ci in cis.items() if n != floor and ci.high < low.low]


def paired_verdict(ratio: tuple[float, float, float], reference: str = "original") -> str:
    """The verdict of a per-round ratio ``(median, low, high)`` to ``reference``:
    "within noise" when its 95 % interval holds 1, else faster/slower by the median."""
    m, low, high = ratio
    if low <= 1.0 <= high:
        return f"within noise of {reference}"
    return f"{'slower' if low > 1.0 else 'faster'} than {reference} ({m - 1:+.1%})"


def rounds_to_separate(ratio: tuple[float, float, float], rounds: int,
                       smallest: float = 0.01) -> int:
    """About how many rounds the per-round ratio ``(median, low, high)`` measured over
    ``rounds`` needs before its interval excludes 1: the half-width shrinks as
    1/√rounds, so ``rounds · (half-width / gap)²`` with ``gap = |median − 1|`` (at
    least ``smallest``: differences below 1 % are not worth resolving), plus 20 %."""
    m, low, high = ratio
    half = max(m - low, high - m)
    gap = max(abs(m - 1.0), smallest)
    return max(rounds + 1, math.ceil(1.2 * rounds * (half / gap) ** 2))
