"""Check a cart against a state's purchase limits: one pure engine for the cart and the register."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from models.units import DOWN, NEAREST, UP, amount, unit_name

if TYPE_CHECKING:
    from models.rules.pack_rules import LimitRule, RulePack

# The one vocabulary of limit categories, shared by products, packs, the CLI and the engine.
LIMIT_CATEGORIES = (
    "flower",
    "preroll",
    "infused_preroll",
    "concentrate",
    "vape",
    "edible",
    "beverage",
    "tincture",
    "topical",
    "immature_plant",
    "seed",
)
# Accessories and other non-cannabis goods carry no limit category.
NOT_LIMITED = (None, "none")
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class CartLine:
    """A line of a cart or past sale; weights and THC are per unit, in whole milligrams."""

    # Liquids are capped by fluid ounces but products carry a net weight, so a liquid's net
    # weight is also read as its volume (1 mg ≈ 1 µl, the density of water).

    category: str | None
    net_weight_mg: int | None = None
    thc_mg: int | None = None
    quantity: int = 1
    label: str = ""

    def __post_init__(self) -> None:
        if self.category not in NOT_LIMITED and self.category not in LIMIT_CATEGORIES:
            raise ValueError(
                f"unknown limit category {self.category!r} (known: {', '.join(LIMIT_CATEGORIES)})"
            )
        for name in ("net_weight_mg", "thc_mg"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 0):
                raise ValueError(f"{name} must be a whole number of milligrams, not {value!r}")
        if not _is_int(self.quantity) or self.quantity < 1:
            raise ValueError(
                f"quantity must be a whole number of at least 1, not {self.quantity!r}"
            )

    @property
    def limited(self) -> bool:
        """Say whether the line has a limit category at all."""
        return self.category in LIMIT_CATEGORIES

    def name(self, index: int) -> str:
        """Name the line for messages: its label, or its position and category."""
        return self.label or f"line {index + 1} ({self.category or 'no category'})"


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    """Who is buying: the classes they buy under, age, residency, and a patient if a caregiver."""

    classes: frozenset[str]
    age: int | None = None
    date_of_birth: date | None = None
    resident: bool = True
    caregiver_for: str | None = None
    patient_age: int | None = None

    def __post_init__(self) -> None:
        classes = (self.classes,) if isinstance(self.classes, str) else self.classes
        object.__setattr__(self, "classes", frozenset(classes))
        if not self.classes:
            raise ValueError("a customer profile needs at least one class")
        for name in ("age", "patient_age"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 0):
                raise ValueError(f"{name} must be a whole number of years, not {value!r}")

    def age_on(self, day: date) -> int | None:
        """Give the age in whole years on a day, from the date of birth when known."""
        if self.date_of_birth is None:
            return self.age
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class PastPurchase:
    """A completed sale to the customer: when (store-local or aware) and what, under which class."""

    at: datetime
    lines: tuple[CartLine, ...]
    classes: frozenset[str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        if self.classes is not None:
            classes = (self.classes,) if isinstance(self.classes, str) else self.classes
            object.__setattr__(self, "classes", frozenset(classes))


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
    classes, refusals = _resolve_classes(pack, profile, today)
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


def _resolve_classes(
    pack: RulePack, profile: CustomerProfile, today: date
) -> tuple[frozenset[str], list[Refusal]]:
    """Check age per class, then add ancestors and the classes derived from age and residency."""
    refusals: list[Refusal] = []
    for name in sorted(profile.classes):
        cls = pack.classes.get(name)
        if cls is None:
            raise ValueError(
                f"unknown customer class {name!r} for {pack.state} "
                f"(known: {', '.join(sorted(pack.classes))})"
            )
        if cls.derived:
            raise ValueError(
                f"class {name!r} is derived from the profile (age or residency); "
                f"pass {pack.base_class(name)!r} instead"
            )
    age = profile.age_on(today)
    eligible: set[str] = set()
    for name in sorted(profile.classes):
        need = _inherited(pack, name, "caregiver_min_age" if profile.caregiver_for else "min_age")
        if profile.caregiver_for and need is None:
            need = _inherited(pack, name, "min_age")
        if age is not None and need is not None and age < need:
            who = "a caregiver" if profile.caregiver_for else "the customer"
            refusals.append(
                Refusal("age", f"{name} purchases need {who} aged {need} or over; age is {age}.")
            )
        else:
            eligible.add(name)
    active = set(eligible)
    for name in eligible:
        while (parent := pack.classes[name].extends) is not None:
            active.add(parent)
            name = parent
    # An 18-20 rule follows the patient's age when a caregiver buys; unknown ages get it anyway.
    subject_age = profile.patient_age if profile.caregiver_for else age
    changed = True
    while changed:
        changed = False
        for cls in pack.classes.values():
            if not cls.derived or cls.name in active or cls.extends not in active:
                continue
            if cls.resident is not None and profile.resident != cls.resident:
                continue
            if cls.age_range is not None and subject_age is not None:
                low, high = cls.age_range
                if not low <= subject_age <= high:
                    continue
            active.add(cls.name)
            changed = True
    if not eligible and not refusals:
        refusals.append(Refusal("class", "The customer qualifies for no class of sale."))
    return frozenset(active), refusals


def _inherited(pack: RulePack, name: str, field: str) -> int | None:
    current: str | None = name
    while current is not None:
        value = getattr(pack.classes[current], field)
        if value is not None:
            return value
        current = pack.classes[current].extends
    return None


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


_AMOUNT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(mg|g|kg|oz|ml)$")


def parse_amount_mg(text: str, g_per_oz: Decimal = Decimal("28.3495")) -> int:
    """Turn '3.5g', '1600mg', '355ml' (1 ml ≈ 1 g) or '1oz' into whole milligrams."""
    match = _AMOUNT.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not an amount like 3.5g, 1600mg or 355ml")
    factor = {"mg": 1, "g": 1000, "kg": 1000000, "ml": 1000, "oz": g_per_oz * 1000}[match.group(2)]
    value = Decimal(match.group(1)) * factor
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is {value} mg, not a whole number of milligrams")
    return int(value)


def parse_line(
    spec: str, g_per_oz: Decimal = Decimal("28.3495")
) -> tuple[CartLine, dict[str, str]]:
    """Parse CATEGORY[:NET_WEIGHT[:THC]][:key=value...] into a cart line and its other options."""
    # Weight and THC are per unit (the whole line when qty is 1); qty= and label= shape the
    # line, and any other key=value (price=, thc_pct=, flags=) is left for the caller.
    parts = [p.strip() for p in spec.split(":")]
    category: str | None = parts[0].lower()
    if category in ("accessory", "none", ""):
        category = None
    positional: list[str] = []
    options: dict[str, str] = {}
    for part in parts[1:]:
        if "=" in part:
            key, _, value = part.partition("=")
            options[key.strip().lower()] = value.strip()
        elif part:
            positional.append(part)
    if len(positional) > 2:
        raise ValueError(
            f"{spec!r}: expected CATEGORY:NET_WEIGHT[:THC], got extra {positional[2]!r}"
        )
    weight = parse_amount_mg(positional[0], g_per_oz) if positional else None
    thc = parse_amount_mg(positional[1], g_per_oz) if len(positional) > 1 else None
    quantity_text = options.pop("qty", "1")
    if not quantity_text.isdigit():
        raise ValueError(f"{spec!r}: qty must be a whole number, not {quantity_text!r}")
    line = CartLine(
        category=category,
        net_weight_mg=weight,
        thc_mg=thc,
        quantity=int(quantity_text),
        label=options.pop("label", ""),
    )
    return line, options


def sale_time(day: date, zone: str) -> datetime:
    """Give midday on a local business day, for what-if checks given only a date."""
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(zone))
