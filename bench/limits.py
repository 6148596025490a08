"""Time the limit and tax engines on a 30-line cart with 200 past orders in a 90-day window.

Run: .venv/bin/python bench/limits.py [--runs N]. Prints median and p95 per call, a bare
baseline (an empty function call) measured in the same run, and each figure's ratio to it.
"""

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.rules.cart_lines import CartLine, CustomerProfile, PastPurchase  # noqa: E402
from models.rules.limits import evaluate  # noqa: E402
from models.rules.packs import load_pack  # noqa: E402
from models.rules.taxes import PricedLine, quote  # noqa: E402

AT = datetime(2026, 7, 1, 12, 0)
KINDS = [
    CartLine("flower", 3500, 700),
    CartLine("preroll", 1000, 210, 2),
    CartLine("concentrate", 1000, 780),
    CartLine("vape", 500, 440),
    CartLine("edible", 40000, 100),
    CartLine("beverage", 355000, 10),
    CartLine("tincture", 30000, 300),
    CartLine("topical", 56700, 250),
    CartLine(None, None, None, 1),
]


def cart(size: int) -> list[CartLine]:
    """Build a cart of small lines across every category (it stays under the caps)."""
    return [KINDS[i % len(KINDS)] for i in range(size)]


def history(orders: int, days: int) -> list[PastPurchase]:
    """Spread past orders of three small lines evenly over the window."""
    step = timedelta(days=days) / orders
    return [
        PastPurchase(AT - step * (i + 1), (KINDS[i % 8], KINDS[(i + 3) % 8], KINDS[(i + 5) % 8]))
        for i in range(orders)
    ]


def measure(call, runs: int) -> tuple[float, float]:
    """Give the median and p95 of one call, in microseconds."""
    for _ in range(min(runs, 200)):
        call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        start = clock()
        call()
        samples.append(clock() - start)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.95)] / 1000


def empty() -> None:
    """Do nothing: the baseline call."""


def main() -> None:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3000)
    runs = parser.parse_args().runs
    nm = load_pack("NM")
    lines = cart(30)
    past = history(200, 89)
    patient = CustomerProfile({"medical"}, age=40)
    adult = CustomerProfile({"adult_use"}, age=40)
    verdict = evaluate(nm, patient, lines, past, AT)
    rule = verdict.rule("nm_med_units_90_days")
    assert rule.earlier > 0, "the history must fall inside the 90-day window"
    priced = [PricedLine(line, 2500 + 100 * i) for i, line in enumerate(lines)]
    local = {"gross_receipts": Decimal("787.5")}
    co = load_pack("CO")
    cases = [
        ("bare call (baseline)", empty),
        (
            "limits NM medical: 30 lines, 200 orders / 90 days",
            lambda: evaluate(nm, patient, lines, past, AT),
        ),
        (
            "limits CO adult use: 30 lines, 200 orders / 90 days",
            lambda: evaluate(co, adult, lines, past, AT),
        ),
        ("limits NM adult use: 30 lines, no history", lambda: evaluate(nm, adult, lines, (), AT)),
        ("taxes NM adult use: 30 lines", lambda: quote(nm, priced, AT, ["adult_use"], local)),
    ]
    print(f"Python {sys.version.split()[0]}, {runs} runs each; times in microseconds")
    print(f"(NM medical meter: {rule.used} of {rule.cap} {rule.unit}, {rule.earlier} earlier)")
    baseline = None
    for name, call in cases:
        median, p95 = measure(call, runs)
        baseline = baseline or median
        verdict_mark = "  goal < 2000 µs median: " + ("met" if median < 2000 else "MISSED")
        note = "" if call is empty else verdict_mark
        print(
            f"{name:<52} median {median:9.1f}  p95 {p95:9.1f}  "
            f"x{median / baseline:,.0f} baseline{note}"
        )


if __name__ == "__main__":
    main()
