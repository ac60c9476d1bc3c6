"""The benchmarks' interleaved CPU-time rounds (``benchmarks.reparam.interleaved``,
used by vs_timm and ort_optimal too): every runner once per round, in an order that
varies from round to round."""

from __future__ import annotations

from benchmarks.reparam import interleaved


def test_interleaved_rounds_vary_the_order_and_time_every_runner_once_per_round():
    ran: list[str] = []
    runners = {n: (lambda n=n: ran.append(n)) for n in ("ours", "ours_torch", "timm")}
    times = interleaved(runners, repeats=30, warmup=1, number=2)
    assert {n: len(t) for n, t in times.items()} == {"ours": 30, "ours_torch": 30, "timm": 30}
    rounds = [ran[3 + 6 * i: 3 + 6 * (i + 1): 2] for i in range(30)]  # two calls per sample
    assert all(sorted(r) == ["ours", "ours_torch", "timm"] for r in rounds)
    followers = {r[r.index("timm") + 1] for r in rounds if r[-1] != "timm"}
    assert followers == {"ours", "ours_torch"}  # a fixed rotation always puts the same one after timm
