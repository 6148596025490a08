"""Fixtures for the rule-pack tests: run one table case against a state's pack."""

from collections.abc import Callable, Sequence
from datetime import datetime

import pytest

from models.rules.cart_lines import CustomerProfile, PastPurchase, parse_line
from models.rules.limits import evaluate
from models.rules.packs import load_pack
from models.rules.verdicts import Verdict

# A store-local sale time; history entries are store-local too unless they carry a zone.
AT = datetime(2026, 7, 1, 12, 0)


def lines_of(specs: Sequence[str]) -> list:
    """Turn 'flower:14g'-style specs into cart lines."""
    return [parse_line(spec)[0] for spec in specs]


@pytest.fixture
def run_case() -> Callable[..., Verdict]:
    """Evaluate a case and check the verdict and exactly which rules were breached."""

    def run(
        state: str,
        specs: Sequence[str],
        options: dict,
        ok: bool,
        breached: Sequence[str] = (),
    ) -> Verdict:
        options = dict(options)
        at = options.pop("at", AT)
        history = [
            PastPurchase(when, tuple(lines_of(specs)), options.pop("history_classes", None))
            for when, specs in options.pop("history", ())
        ]
        classes = frozenset(options.pop("classes", ("adult_use",)))
        pack = load_pack(state)
        verdict = evaluate(pack, CustomerProfile(classes, **options), lines_of(specs), history, at)
        failed = {rule.id for rule in verdict.rules if not rule.ok}
        assert failed == set(breached), verdict.messages
        assert verdict.ok is ok, verdict.messages
        for rule in verdict.rules:
            assert (rule.message is None) == rule.ok
        if not ok and not breached:
            assert verdict.refusals
        return verdict

    return run
