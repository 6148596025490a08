"""The frozen rules a state pack compiles into: limits, taxes, customer classes and hosts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


class RulePackError(ValueError):
    """A rule pack file is malformed; the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class Term:
    """What one group of categories adds to a rule: raw line amount × weight (scaled units)."""

    categories: frozenset[str]
    measure: str
    weight: Decimal
    thc_per_unit_max: int | None = None
    thc_per_unit_over: int | None = None

    def matches(self, thc_mg_per_unit: int | None) -> bool:
        """Say whether a line with this THC per unit falls under the term's condition."""
        if self.thc_per_unit_max is not None:
            return thc_mg_per_unit is not None and thc_mg_per_unit <= self.thc_per_unit_max
        if self.thc_per_unit_over is not None:
            return thc_mg_per_unit is not None and thc_mg_per_unit > self.thc_per_unit_over
        return True

    @property
    def conditional(self) -> bool:
        """Say whether the term depends on the line's THC per unit."""
        return self.thc_per_unit_max is not None or self.thc_per_unit_over is not None


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One cap: used = Σ raw × term.weight / scale, compared exactly with cap_scaled / scale."""

    id: str
    label: str
    sources: tuple[str, ...]
    confidence: str
    effective_from: date
    effective_to: date | None
    applies_to: frozenset[str]
    history_classes: frozenset[str]
    window: str
    window_days: int | None
    scope: str
    kind: str
    unit: str
    places: int
    scale: Decimal
    cap_scaled: Decimal
    terms: tuple[Term, ...]
    note: str = ""

    def active_on(self, day: date) -> bool:
        """Say whether the rule is in force on a local business day."""
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


@dataclass(frozen=True, slots=True)
class CustomerClass:
    """A buyer class, passed in (adult_use, medical) or derived from age or residence."""

    name: str
    extends: str | None = None
    min_age: int | None = None
    caregiver_min_age: int | None = None
    age_range: tuple[int, int] | None = None
    resident: bool | None = None
    cap_multiplier: Decimal | None = None

    @property
    def derived(self) -> bool:
        """Say whether the engine adds this class itself from the profile."""
        return self.age_range is not None or self.resident is not None


@dataclass(frozen=True, slots=True)
class ProductRate:
    """A rate for products that match every given condition (first match wins)."""

    percent: Decimal
    categories: frozenset[str] | None = None
    thc_percent_above: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RatePeriod:
    """A tax rate (flat or by product) in force from one date to another, inclusive."""

    start: date | None
    end: date | None
    percent: Decimal | None
    by_product: tuple[ProductRate, ...] = ()

    def covers(self, day: date) -> bool:
        """Say whether the period includes the day."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class Exemption:
    """A buyer/product/store situation in which a tax is not charged (all conditions must hold)."""

    classes: frozenset[str]
    products: str | frozenset[str] = "all"
    store_flags: frozenset[str] = frozenset()
    product_flags: frozenset[str] = frozenset()
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class TaxRule:
    """One tax on retail lines: its rates, base, display, exemptions and rounding."""

    id: str
    name: str
    sources: tuple[str, ...]
    confidence: str
    applies_to: frozenset[str] | None
    products: str | frozenset[str]
    display: str
    base_includes: tuple[str, ...]
    rounding: str
    schedule: tuple[RatePeriod, ...]
    local_rate: str | None
    max_percent: Decimal | None
    exemptions: tuple[Exemption, ...]
    note: str = ""
    # Where the law (or the state's published rates) says the local rate's cap comes from.
    max_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StateAddress:
    """A state system's API host that the state's stores may report to."""

    system: str
    kind: str
    url: str
    label: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RulePack:
    """A state's validated limits and taxes."""

    state: str
    name: str
    path: str
    timezone: str
    confidence: str
    effective_from: date
    g_per_oz: Decimal
    ml_per_fl_oz: Decimal
    sources: dict[str, str]
    classes: dict[str, CustomerClass]
    limited_categories: frozenset[str]
    category_notes: dict[str, str]
    limits: tuple[LimitRule, ...]
    taxes: tuple[TaxRule, ...]
    local_taxes: frozenset[str]
    addresses: tuple[StateAddress, ...] = ()

    def base_class(self, name: str) -> str:
        """Follow `extends` to the class a derived or tag class belongs to."""
        return root_class(self.classes, name)


def root_class(classes: dict[str, CustomerClass], name: str) -> str:
    """Follow `extends` from a class to the one it belongs to."""
    parent = classes[name].extends
    while parent is not None:
        name, parent = parent, classes[parent].extends
    return name
