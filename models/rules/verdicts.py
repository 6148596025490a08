"""What a limit check answers: one meter per rule, the refusals, and the verdict over both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from models.units import DOWN, NEAREST, UP, amount, unit_name

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one cart line adds to a rule, in the rule's unit (rounded up for display)."""

    line: int
    label: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One limit meter: the amount used (earlier purchases + this cart) against the cap."""

    id: str
    label: str
    kind: str
    unit: str
    window: str
    window_days: int | None
    scope: str
    used: Decimal
    cap: Decimal
    earlier: Decimal
    remaining: Decimal
    percent: int
    ok: bool
    message: str | None
    contributions: tuple[Contribution, ...]
    sources: tuple[str, ...]
    confidence: str
    # Every term counts THC, so the meter says "mg THC" rather than a bare weight.
    counts_thc: bool = False

    @property
    def unit_label(self) -> str:
        """Name the rule's unit as people read it ("oz", "g", "mg THC")."""
        name = unit_name(self.unit)
        return f"{name} THC" if self.counts_thc and self.unit == "mg" else name

    @property
    def figures(self) -> str:
        """Write used against cap, e.g. "3.5 / 56.7 g" (used rounds up, the cap to nearest)."""
        used = amount(self.used, self.unit, rounding=UP)
        return f"{used} / {amount(self.cap, self.unit, rounding=NEAREST)} {self.unit_label}"

    @property
    def earlier_text(self) -> str:
        """Write what earlier sales used, rounded up, with the unit."""
        return f"{amount(self.earlier, self.unit, rounding=UP)} {self.unit_label}"

    @property
    def remaining_text(self) -> str:
        """Write what is left, rounded down so it never reads more than there is."""
        left = max(self.remaining, _ZERO)
        return f"{amount(left, self.unit, rounding=DOWN)} {self.unit_label}"

    def to_dict(self) -> dict[str, Any]:
        """Give a JSON-ready dict (decimals as strings)."""
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "unit": self.unit,
            "window": self.window,
            "window_days": self.window_days,
            "scope": self.scope,
            "used": str(self.used),
            "cap": str(self.cap),
            "earlier": str(self.earlier),
            "remaining": str(self.remaining),
            "percent": self.percent,
            "ok": self.ok,
            "message": self.message,
            "contributions": [
                {"line": c.line, "label": c.label, "amount": str(c.amount)}
                for c in self.contributions
            ],
            "sources": list(self.sources),
            "confidence": self.confidence,
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reason the sale cannot go ahead that is not a cap: missing product data, age, class."""

    kind: str
    message: str
    line: int | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Give a JSON-ready dict."""
        return {"kind": self.kind, "line": self.line, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's answer: ok, one RuleResult per active rule (the meter), and refusals."""

    ok: bool
    state: str
    day: date
    classes: tuple[str, ...]
    rules: tuple[RuleResult, ...]
    refusals: tuple[Refusal, ...]
    warnings: tuple[str, ...] = ()
    on_behalf_of: str | None = None

    @property
    def messages(self) -> tuple[str, ...]:
        """List every reason for refusal, refusals first, then breached rules."""
        breaches = tuple(r.message for r in self.rules if r.message)
        return tuple(r.message for r in self.refusals) + breaches

    def rule(self, rule_id: str) -> RuleResult:
        """Find a rule's result by id."""
        for result in self.rules:
            if result.id == rule_id:
                return result
        raise KeyError(rule_id)

    def to_dict(self) -> dict[str, Any]:
        """Give a JSON-ready dict of the whole verdict."""
        return {
            "ok": self.ok,
            "state": self.state,
            "day": self.day.isoformat(),
            "classes": list(self.classes),
            "on_behalf_of": self.on_behalf_of,
            "rules": [r.to_dict() for r in self.rules],
            "refusals": [r.to_dict() for r in self.refusals],
            "warnings": list(self.warnings),
            "messages": list(self.messages),
        }
