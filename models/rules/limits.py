"""Check a cart against a state's purchase limits: one pure engine for the cart and the register."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from models.rules.buyer_classes import resolve_classes
from models.rules.cart_lines import CartLine, CustomerProfile, PastPurchase
from models.rules.verdicts import Contribution, Refusal, RuleResult, Verdict
from models.units import UP, amount, unit_name

if TYPE_CHECKING:
    from models.rules.pack_rules import LimitRule, RulePack

FIELD_NAMES = {"net_weight_mg": "net weight (mg)", "thc_mg": "THC content (mg)"}
WINDOW_PHRASES = {
    "transaction": "in this sale",
    "calendar_day": "today",
    "calendar_month": "this month",
}
# Limit arithmetic must be exact: any inexact step raises instead of rounding silently.
EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
# Display only: exact comparisons never go through this context.
_DISPLAY = Context(prec=50)
_ZERO = Decimal(0)


def evaluate(
    pack: RulePack,
    profile: CustomerProfile,
    lines: Sequence[CartLine],
    history: Iterable[PastPurchase] = (),
    at: datetime | date | None = None,
    *,
    tz: str | None = None,
) -> Verdict:
    """Check a cart plus past purchases against every rule of the pack in force for the buyer."""
    # `at` naive is store-local; aware is converted to `tz` (the store's zone, by default the
    # pack's). History is the completed sales to this customer (or the caregiver's patient) in
    # the chain's stores in this state. Every class in the profile applies at once, so a buyer
    # evaluated as both adult-use and medical must fit both sets of caps.
    zone = ZoneInfo(tz or pack.timezone)
    today = _local_date(at, zone)
    lines = tuple(lines)
    classes, refusals = resolve_classes(pack, profile, today)
    active = [r for r in pack.limits if r.applies_to & classes and r.active_on(today)]
    usable = _check_fields(active, lines, refusals)
    warnings: list[str] = []
    windows = (
        _WindowTotals(pack, history, zone, today)
        if any(r.window != "transaction" for r in active)
        else None
    )
    results = []
    for rule in active:
        multiplier = _multiplier(pack, rule, classes)
        results.append(_apply(rule, multiplier, lines, usable, windows, warnings))
    ok = not refusals and all(r.ok for r in results)
    return Verdict(
        ok=ok,
        state=pack.state,
        day=today,
        classes=tuple(sorted(classes)),
        rules=tuple(results),
        refusals=tuple(refusals),
        warnings=tuple(dict.fromkeys(warnings)),
        on_behalf_of=profile.caregiver_for,
    )


def _local_date(at: datetime | date | None, zone: ZoneInfo) -> date:
    if at is None:
        return datetime.now(zone).date()
    if isinstance(at, datetime):
        return at.date() if at.tzinfo is None else at.astimezone(zone).date()
    return at


def _multiplier(pack: RulePack, rule: LimitRule, classes: frozenset[str]) -> Decimal:
    """Multiply caps for derived classes such as Illinois non-residents (half of each cap)."""
    result = Decimal(1)
    for name in classes:
        cls = pack.classes[name]
        if cls.cap_multiplier is None or name in rule.applies_to:
            continue
        if pack.base_class(name) in rule.history_classes:
            result *= cls.cap_multiplier
    return result


def _check_fields(
    active: list[LimitRule], lines: tuple[CartLine, ...], refusals: list[Refusal]
) -> list[bool]:
    """Refuse lines missing a measure that an active rule counts them by."""
    needs: dict[str, dict[str, str]] = {}
    for rule in active:
        for term in rule.terms:
            fields = []
            if term.measure in ("weight", "volume"):
                fields.append("net_weight_mg")
            if term.measure == "thc" or term.conditional:
                fields.append("thc_mg")
            for category in term.categories:
                for field in fields:
                    needs.setdefault(category, {}).setdefault(field, rule.label)
    usable = []
    for index, line in enumerate(lines):
        ok = True
        for field, rule_label in needs.get(line.category or "", {}).items():
            value = getattr(line, field)
            if value is None or (field == "net_weight_mg" and value == 0):
                ok = False
                refusals.append(
                    Refusal(
                        "missing_field",
                        f"{line.name(index)} cannot be sold: its {FIELD_NAMES[field]} is missing "
                        f"({field}), and the limit '{rule_label}' counts it.",
                        line=index,
                        field=field,
                    )
                )
        usable.append(ok)
    return usable


def _raw(measure: str, line: CartLine) -> int | None:
    """Give a line's amount for a measure, in base units (mg, µl or units), or None if missing."""
    if measure == "count":
        return line.quantity
    value = line.thc_mg if measure == "thc" else line.net_weight_mg
    return None if value is None else value * line.quantity


class _WindowTotals:
    """Sum past purchases once per window, so a 200-order history costs one pass per window."""

    def __init__(
        self, pack: RulePack, history: Iterable[PastPurchase], zone: ZoneInfo, today: date
    ) -> None:
        self.pack = pack
        self.today = today
        self.cache: dict[tuple[str, int | None, frozenset[str]], _Totals] = {}
        self.dated = []
        for purchase in history:
            at = purchase.at
            day = at.date() if at.tzinfo is None else at.astimezone(zone).date()
            if day > today:
                continue
            roots = None
            if purchase.classes is not None:
                roots = frozenset(
                    pack.base_class(c) if c in pack.classes else c for c in purchase.classes
                )
            self.dated.append((day, roots, purchase))

    def totals(self, rule: LimitRule) -> _Totals:
        """Give the sums for the rule's window and classes."""
        key = (rule.window, rule.window_days, rule.history_classes)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._sum(rule)
        return found

    def _sum(self, rule: LimitRule) -> _Totals:
        today = self.today
        if rule.window == "calendar_day":
            start = today
        elif rule.window == "calendar_month":
            start = today.replace(day=1)
        else:
            start = today - timedelta(days=(rule.window_days or 1) - 1)
        totals = _Totals()
        for day, roots, purchase in self.dated:
            if day < start or (roots is not None and not roots & rule.history_classes):
                continue
            for line in purchase.lines:
                if line.limited:
                    totals.add(line)
        return totals


class _Totals:
    """Integer sums per (category, field) of past lines, plus the lines themselves."""

    __slots__ = ("sums", "lines")

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str], int] = {}
        self.lines: list[CartLine] = []

    def add(self, line: CartLine) -> None:
        """Count one past line."""
        sums = self.sums
        category = line.category or ""
        self.lines.append(line)
        for measure in ("weight", "thc", "count"):
            raw = _raw(measure, line)
            key = (category, measure)
            if raw is None:
                sums[(category, f"missing_{measure}")] = 1
            else:
                sums[key] = sums.get(key, 0) + raw


def _apply(
    rule: LimitRule,
    multiplier: Decimal,
    lines: tuple[CartLine, ...],
    usable: list[bool],
    windows: _WindowTotals | None,
    warnings: list[str],
) -> RuleResult:
    with localcontext(EXACT):
        cap_scaled = rule.cap_scaled * multiplier
        earlier = _ZERO
        if rule.window != "transaction" and windows is not None:
            earlier = _history_scaled(rule, windows.totals(rule), warnings)
        shares = []
        cart = _ZERO
        for index, line in enumerate(lines):
            if not usable[index] or not line.limited:
                continue
            share = _line_scaled(rule, line)
            if share is not None:
                shares.append((index, line, share))
                cart += share
        used_scaled = earlier + cart
        ok = used_scaled <= cap_scaled
        percent = int((used_scaled * 100) // cap_scaled)
    used = _show(used_scaled, rule, ROUND_CEILING)
    cap = _show(cap_scaled, rule, ROUND_DOWN)
    earlier_shown = _show(earlier, rule, ROUND_CEILING)
    remaining = _show(max(cap_scaled - used_scaled, _ZERO), rule, ROUND_DOWN)
    message = None
    if not ok:
        over = _show(used_scaled - cap_scaled, rule, ROUND_CEILING)
        unit = f" {unit_name(rule.unit)}"
        when = WINDOW_PHRASES.get(rule.window) or f"in the last {rule.window_days} days"
        before = (
            f"; {amount(earlier_shown, rule.unit, rounding=UP)}{unit} bought earlier"
            if earlier
            else ""
        )
        message = (
            f"{rule.label}: {amount(used, rule.unit, rounding=UP)} of "
            f"{amount(cap, rule.unit)}{unit} {when}, "
            f"{amount(over, rule.unit, rounding=UP)}{unit} over the limit{before}."
        )
    return RuleResult(
        id=rule.id,
        label=rule.label,
        kind=rule.kind,
        unit=rule.unit,
        window=rule.window,
        window_days=rule.window_days,
        scope=rule.scope,
        used=used,
        cap=cap,
        earlier=earlier_shown,
        remaining=remaining,
        percent=percent,
        ok=ok,
        message=message,
        contributions=tuple(
            Contribution(i, line.name(i), _show(share, rule, ROUND_CEILING))
            for i, line, share in shares
        ),
        sources=rule.sources,
        confidence=rule.confidence,
        counts_thc=all(term.measure == "thc" for term in rule.terms),
    )


def _line_scaled(rule: LimitRule, line: CartLine) -> Decimal | None:
    """Give a line's scaled share of a rule, or None if the rule does not count its category."""
    total = None
    for term in rule.terms:
        if line.category not in term.categories:
            continue
        if term.conditional and not term.matches(line.thc_mg):
            continue
        raw = _raw(term.measure, line)
        total = (total or _ZERO) + (raw or 0) * term.weight
    return total


def _history_scaled(rule: LimitRule, totals: _Totals, warnings: list[str]) -> Decimal:
    earlier = _ZERO
    sums = totals.sums
    for term in rule.terms:
        measure = "weight" if term.measure == "volume" else term.measure
        if term.conditional:
            for line in totals.lines:
                if line.category in term.categories and term.matches(line.thc_mg):
                    earlier += (_raw(term.measure, line) or 0) * term.weight
            continue
        for category in term.categories:
            raw = sums.get((category, measure))
            if raw:
                earlier += raw * term.weight
            if (category, f"missing_{measure}") in sums:
                warnings.append(
                    f"A past {category} purchase has no {measure} recorded; "
                    f"'{rule.label}' counts it as zero."
                )
    return earlier


def _show(scaled: Decimal, rule: LimitRule, rounding: str) -> Decimal:
    """Turn a scaled amount into the rule's unit at its display precision, rounding explicitly."""
    with localcontext(_DISPLAY):
        return (scaled / rule.scale).quantize(Decimal(1).scaleb(-rule.places), rounding=rounding)


def sale_time(day: date, zone: str) -> datetime:
    """Give midday on a local business day, for what-if checks given only a date."""
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(zone))
