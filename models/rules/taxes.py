"""Compute a sale's taxes from the state's pack and the store's local rates, in whole cents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    localcontext,
)
from typing import TYPE_CHECKING, Any

from models.rules.cart_lines import LIMIT_CATEGORIES, NOT_LIMITED, CartLine

if TYPE_CHECKING:
    from models.rules.pack_rules import RulePack, TaxRule

# Prices are positive, so "up" (away from zero) is Oregon's "round up to the next cent".
ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "half_even": ROUND_HALF_EVEN,
}
_MONEY = Context(prec=50)
_CENT = Decimal(1)
_HUNDRED = Decimal(100)


class TaxInputError(ValueError):
    """A line lacks what a tax needs (e.g. THC percent for Illinois) or a rate is malformed."""


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A cart line with its price in cents for all its units, after discounts."""

    # The price contains any tax the pack marks included (Washington's excise). `thc_percent`
    # overrides THC mg / net weight where a rate depends on potency; `flags` carry product
    # facts such as `doh_compliant`.

    line: CartLine
    price_cents: int
    thc_percent: Decimal | None = None
    flags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if isinstance(self.price_cents, bool) or not isinstance(self.price_cents, int):
            raise TaxInputError(f"price_cents must be whole cents, not {self.price_cents!r}")
        if self.price_cents < 0:
            raise TaxInputError("price_cents cannot be negative")
        if self.thc_percent is not None and not isinstance(self.thc_percent, Decimal):
            raise TaxInputError(f"thc_percent must be a Decimal, not {self.thc_percent!r}")
        object.__setattr__(self, "flags", frozenset(self.flags))


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One tax at one rate: its base and amount in cents; included means inside the shelf price."""

    tax_id: str
    name: str
    percent: Decimal
    base_cents: int
    amount_cents: int
    included: bool

    def to_dict(self) -> dict[str, Any]:
        """Give a JSON-ready dict."""
        return {
            "tax_id": self.tax_id,
            "name": self.name,
            "percent": str(self.percent),
            "base_cents": self.base_cents,
            "amount_cents": self.amount_cents,
            "included": self.included,
        }


@dataclass(frozen=True, slots=True)
class ItemTax:
    """The taxes on one cart line: shelf price, price before tax, each tax, what the buyer pays."""

    line: int
    label: str
    price_cents: int
    net_cents: int
    taxes: tuple[TaxLine, ...]
    waived: tuple[TaxLine, ...]
    total_cents: int

    def to_dict(self) -> dict[str, Any]:
        """Give a JSON-ready dict."""
        return {
            "line": self.line,
            "label": self.label,
            "price_cents": self.price_cents,
            "net_cents": self.net_cents,
            "taxes": [t.to_dict() for t in self.taxes],
            "waived": [t.to_dict() for t in self.waived],
            "total_cents": self.total_cents,
        }


@dataclass(frozen=True, slots=True)
class TaxQuote:
    """A receipt's taxes: one line per tax and rate, per-item detail, and totals in cents."""

    # total_cents = net_cents + tax_cents; tax_cents is the sum of the tax lines; waived lines
    # show what an exempt buyer did not pay.

    state: str
    day: date
    lines: tuple[TaxLine, ...]
    waived: tuple[TaxLine, ...]
    items: tuple[ItemTax, ...]
    subtotal_cents: int
    net_cents: int
    included_tax_cents: int
    added_tax_cents: int
    tax_cents: int
    waived_cents: int
    total_cents: int

    def to_dict(self) -> dict[str, Any]:
        """Give a JSON-ready dict."""
        return {
            "state": self.state,
            "day": self.day.isoformat(),
            "lines": [t.to_dict() for t in self.lines],
            "waived": [t.to_dict() for t in self.waived],
            "items": [i.to_dict() for i in self.items],
            "subtotal_cents": self.subtotal_cents,
            "net_cents": self.net_cents,
            "included_tax_cents": self.included_tax_cents,
            "added_tax_cents": self.added_tax_cents,
            "tax_cents": self.tax_cents,
            "waived_cents": self.waived_cents,
            "total_cents": self.total_cents,
        }


def quote(
    pack: RulePack,
    lines_with_prices: Sequence[PricedLine],
    at: date | datetime,
    buyer_classes: Iterable[str],
    local_rates: Mapping[str, int | Decimal] | None = None,
    *,
    store_flags: Iterable[str] = (),
) -> TaxQuote:
    """Compute every tax line for a sale on a local business day."""
    # `local_rates` maps the pack's local tax names to basis points (787.5 is 7.875%), from
    # the store's settings; `store_flags` carries store facts such as `medical_endorsement`.
    day = at.date() if isinstance(at, datetime) else at
    classes = _classes(pack, buyer_classes)
    rates = _local_percents(pack, local_rates or {})
    flags = frozenset(store_flags)
    items = []
    for index, priced in enumerate(lines_with_prices):
        items.append(_item(pack, index, priced, day, classes, rates, flags))
    order = {tax.id: i for i, tax in enumerate(pack.taxes)}
    lines = _combine([t for item in items for t in item.taxes], order)
    waived = _combine([t for item in items for t in item.waived], order)
    included = sum(t.amount_cents for t in lines if t.included)
    added = sum(t.amount_cents for t in lines if not t.included)
    net = sum(i.net_cents for i in items)
    return TaxQuote(
        state=pack.state,
        day=day,
        lines=lines,
        waived=waived,
        items=tuple(items),
        subtotal_cents=sum(i.price_cents for i in items),
        net_cents=net,
        included_tax_cents=included,
        added_tax_cents=added,
        tax_cents=included + added,
        waived_cents=sum(t.amount_cents for t in waived),
        total_cents=net + included + added,
    )


def _classes(pack: RulePack, buyer_classes: Iterable[str]) -> frozenset[str]:
    names = (buyer_classes,) if isinstance(buyer_classes, str) else tuple(buyer_classes)
    if not names:
        raise TaxInputError("a tax quote needs the buyer's class (e.g. adult_use or medical)")
    out = set()
    for name in names:
        if name not in pack.classes:
            raise TaxInputError(
                f"unknown customer class {name!r} for {pack.state} "
                f"(known: {', '.join(sorted(pack.classes))})"
            )
        current: str | None = name
        while current is not None:
            out.add(current)
            current = pack.classes[current].extends
    return frozenset(out)


def _local_percents(pack: RulePack, local_rates: Mapping[str, int | Decimal]) -> dict[str, Decimal]:
    limits = {t.local_rate: t for t in pack.taxes if t.local_rate}
    out = {}
    for name, bp in local_rates.items():
        if name not in limits:
            known = ", ".join(sorted(limits)) or "none"
            raise TaxInputError(f"unknown local tax {name!r} for {pack.state} (known: {known})")
        if isinstance(bp, bool) or not isinstance(bp, int | Decimal) or bp < 0:
            raise TaxInputError(f"local rate {name!r} must be basis points (int or Decimal) ≥ 0")
        percent = Decimal(bp) / _HUNDRED
        cap = limits[name].max_percent
        if cap is not None and percent > cap:
            raise TaxInputError(f"local rate {name!r} is {percent}%, above the {cap}% allowed")
        out[name] = percent
    return out


def _applies_to_product(products: str | frozenset[str], category: str | None) -> bool:
    if products == "all":
        return True
    if products == "cannabis":
        return category in LIMIT_CATEGORIES
    if products == "non_cannabis":
        return category in NOT_LIMITED
    return category in products


def _percent(
    tax: TaxRule, priced: PricedLine, day: date, rates: dict[str, Decimal], index: int
) -> Decimal | None:
    """Give the tax's percent for this line and day, or None when no rate is in force."""
    if tax.local_rate is not None:
        return rates.get(tax.local_rate)
    period = next((p for p in tax.schedule if p.covers(day)), None)
    if period is None:
        return None
    if period.percent is not None:
        return period.percent
    for option in period.by_product:
        if option.categories is not None and priced.line.category not in option.categories:
            continue
        above = option.thc_percent_above
        if above is not None and _thc_percent(tax, priced, index) <= above:
            continue
        return option.percent
    return None


def _thc_percent(tax: TaxRule, priced: PricedLine, index: int) -> Decimal:
    if priced.thc_percent is not None:
        return priced.thc_percent
    line = priced.line
    if line.thc_mg is None or not line.net_weight_mg:
        raise TaxInputError(
            f"{line.name(index)}: the {tax.name} rate depends on THC percent, but thc_mg or "
            "net_weight_mg is missing (or give thc_percent)"
        )
    with localcontext(_MONEY):
        return Decimal(line.thc_mg) * _HUNDRED / Decimal(line.net_weight_mg)


def _exempt(
    tax: TaxRule, classes: frozenset[str], priced: PricedLine, day: date, store: frozenset[str]
) -> bool:
    for rule in tax.exemptions:
        if not rule.classes & classes:
            continue
        if not _applies_to_product(rule.products, priced.line.category):
            continue
        if not rule.store_flags <= store or not rule.product_flags <= priced.flags:
            continue
        if (rule.start and day < rule.start) or (rule.end and day > rule.end):
            continue
        return True
    return False


def _round(amount: Decimal, mode: str) -> int:
    return int(amount.quantize(_CENT, rounding=ROUNDING_MODES[mode]))


def _item(
    pack: RulePack,
    index: int,
    priced: PricedLine,
    day: date,
    classes: frozenset[str],
    rates: dict[str, Decimal],
    store: frozenset[str],
) -> ItemTax:
    """Tax one line: back included taxes out of the shelf price, then add the others on top."""
    category = priced.line.category
    in_force = []
    for tax in pack.taxes:
        if not _applies_to_product(tax.products, category):
            continue
        percent = _percent(tax, priced, day, rates, index)
        if percent is None or percent == 0:
            continue
        in_force.append((tax, percent))
    price = priced.price_cents
    charged: list[TaxLine] = []
    waived: list[TaxLine] = []
    amounts: dict[str, int] = {}
    with localcontext(_MONEY):
        # The shelf price holds every included tax in force, whoever buys; an exempt buyer
        # simply does not pay it.
        included = [(t, p) for t, p in in_force if t.display == "included"]
        divisor = 1 + sum(p for _, p in included) / _HUNDRED
        backed_out = {t.id: _round(price * p / _HUNDRED / divisor, t.rounding) for t, p in included}
        net = price - sum(backed_out.values())
        for tax, percent in in_force:
            in_class = tax.applies_to is None or bool(tax.applies_to & classes)
            buyer_pays = in_class and not _exempt(tax, classes, priced, day, store)
            if tax.display == "included":
                amount, base = backed_out[tax.id], net
            elif not in_class:
                # A tax for other buyers (adult-use excise for a patient) is not a waiver.
                continue
            else:
                base = net + sum(amounts.get(ref, 0) for ref in tax.base_includes)
                amount = _round(base * percent / _HUNDRED, tax.rounding)
            line = TaxLine(
                tax.id, tax.name, percent, base, amount, included=tax.display == "included"
            )
            if buyer_pays:
                charged.append(line)
                amounts[tax.id] = amount
            else:
                waived.append(line)
    return ItemTax(
        line=index,
        label=priced.line.name(index),
        price_cents=price,
        net_cents=net,
        taxes=tuple(charged),
        waived=tuple(waived),
        total_cents=net + sum(t.amount_cents for t in charged),
    )


def _combine(lines: list[TaxLine], order: dict[str, int]) -> tuple[TaxLine, ...]:
    """Merge per-item tax lines into one receipt line per tax, rate and display."""
    merged: dict[tuple[str, Decimal, bool], list[int]] = {}
    names = {}
    for line in lines:
        key = (line.tax_id, line.percent, line.included)
        sums = merged.setdefault(key, [0, 0])
        sums[0] += line.base_cents
        sums[1] += line.amount_cents
        names[key] = line.name
    keys = sorted(merged, key=lambda k: (order[k[0]], k[1]))
    return tuple(
        TaxLine(k[0], names[k], k[1], merged[k][0], merged[k][1], included=k[2]) for k in keys
    )
