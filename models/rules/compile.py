"""Compile a validated pack into the engine's frozen rules, checking what refers across the pack."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext

from models.rules.limits import EXACT
from models.rules.pack_rules import (
    CustomerClass,
    Exemption,
    LimitRule,
    ProductRate,
    RatePeriod,
    RulePack,
    RulePackError,
    StateAddress,
    TaxRule,
    Term,
    root_class,
)
from models.rules.schema import AddressSpec, LimitSpec, PackSpec, TaxSpec, TermSpec
from models.rules.schema_fields import URL, PackValueError, Quantity, read_quantity

# A measure reads one dimension of a cart line: mass in mg, liquid volume in microlitres, or units.
MEASURE_DIMENSION = {"weight": "mass", "thc": "mass", "volume": "volume", "count": "count"}
DEFAULT_PLACES = {"mg": 0, "g": 3, "oz": 4, "ml": 0, "fl_oz": 2, "units": 0}
_SYSTEM_NAMES = {"metrc": "Metrc", "biotrack": "BioTrack"}


@dataclass(frozen=True, slots=True)
class _Pack:
    """What compiling a rule needs from its pack: the file, sources, classes and unit constants."""

    path: str
    sources: dict[str, str]
    classes: dict[str, CustomerClass]
    g_per_oz: Decimal
    ml_per_fl_oz: Decimal

    def fail(self, where: str, message: str) -> RulePackError:
        """Build an error naming the file, the rule and the problem."""
        return RulePackError(f"{self.path}: {where}: {message}")

    def unit_base(self, unit: str) -> tuple[Decimal, str] | None:
        """Give a unit's size in base units (mg, microlitres, units) and its dimension."""
        with localcontext(EXACT):
            return {
                "mg": (Decimal(1), "mass"),
                "g": (Decimal(1000), "mass"),
                "oz": (self.g_per_oz * 1000, "mass"),
                "ml": (Decimal(1000), "volume"),
                "fl_oz": (self.ml_per_fl_oz * 1000, "volume"),
                "units": (Decimal(1), "count"),
            }.get(unit)

    def base(self, quantity: Quantity) -> Decimal:
        """Give a quantity in base units."""
        size = self.unit_base(quantity.unit)
        assert size is not None
        with localcontext(EXACT):
            return quantity.amount * size[0]

    def quantity(self, where: str, field: str, text: str) -> tuple[Decimal, str]:
        """Parse '2 oz' into (amount in base units, dimension), naming the rule if it is wrong."""
        try:
            quantity = read_quantity(field, text)
        except PackValueError as exc:
            raise self.fail(where, str(exc)) from exc
        return self.base(quantity), quantity.dimension

    def urls(self, where: str, refs: tuple[str, ...]) -> tuple[str, ...]:
        """Resolve a rule's sources: ids from `sources`, or URLs."""
        out = []
        for ref in refs:
            if ref in self.sources:
                out.append(self.sources[ref])
            elif URL.match(ref):
                out.append(ref)
            else:
                raise self.fail(where, f"source must be a URL or a source id, not {ref!r}")
        return tuple(out)

    def class_set(self, where: str, field: str, names: tuple[str, ...]) -> frozenset[str]:
        """Check that every class a rule names is defined by the pack."""
        for name in names:
            if name not in self.classes:
                known = ", ".join(sorted(self.classes))
                raise self.fail(where, f"{field}: unknown class {name!r} (known: {known})")
        return frozenset(names)


def compile_pack(spec: PackSpec, path: str, expected_state: str | None = None) -> RulePack:
    """Turn a validated pack into a RulePack, or say which rule refers to something wrong."""
    pack = _Pack(
        path=path,
        sources=dict(spec.sources),
        classes=_classes(spec),
        g_per_oz=spec.constants.g_per_oz,
        ml_per_fl_oz=spec.constants.ml_per_fl_oz,
    )
    if expected_state is not None and spec.state != expected_state:
        raise pack.fail(
            "pack", f"state {spec.state!r} does not match the file name ({expected_state})"
        )
    limited = frozenset(name for name, c in spec.categories.items() if c.limited)
    limits = tuple(_limit(pack, limited, rule) for rule in spec.limits)
    _unique(pack, "limit", [rule.id for rule in limits])
    counted = {c for rule in limits for term in rule.terms for c in term.categories}
    unused = sorted(limited - counted)
    if unused:
        raise pack.fail(
            f"category {unused[0]!r}", "marked limited but no limit rule counts it (mark it false)"
        )
    taxes = tuple(_tax(pack, tax) for tax in spec.taxes)
    _unique(pack, "tax", [tax.id for tax in taxes])
    _check_tax_order(pack, taxes)
    return RulePack(
        state=spec.state,
        name=spec.name,
        path=path,
        timezone=spec.timezone,
        confidence=spec.confidence,
        effective_from=spec.effective.from_,
        g_per_oz=pack.g_per_oz,
        ml_per_fl_oz=pack.ml_per_fl_oz,
        sources=pack.sources,
        classes=pack.classes,
        limited_categories=limited,
        category_notes={name: str(c.note) for name, c in spec.categories.items() if c.note},
        limits=limits,
        taxes=taxes,
        local_taxes=frozenset(t.local_rate for t in taxes if t.local_rate),
        addresses=_addresses(pack, spec.tracktrace),
    )


def _classes(spec: PackSpec) -> dict[str, CustomerClass]:
    return {
        name: CustomerClass(
            name=name,
            extends=c.extends,
            min_age=c.min_age,
            caregiver_min_age=c.caregiver_min_age,
            age_range=c.age_range,
            resident=c.resident,
            cap_multiplier=c.cap_multiplier,
        )
        for name, c in spec.customer_classes.items()
    }


def _limit(pack: _Pack, limited: frozenset[str], spec: LimitSpec) -> LimitRule:
    where = f"limit {spec.id!r}"
    applies = pack.class_set(where, "applies_to", spec.applies_to)
    unit_size = pack.unit_base(spec.unit)
    fractions = [
        _fraction(pack, f"{where} term {index + 1}", spec, term, limited, unit_size)
        for index, term in enumerate(spec.terms)
    ]
    # Scale all terms to a common denominator so sums and the cap compare exactly.
    with localcontext(EXACT):
        dens = sorted({den for _, den in fractions})
        scale = Decimal(1)
        for den in dens:
            scale *= den
        terms = []
        for term, (num, den) in zip(spec.terms, fractions, strict=True):
            weight = num
            for other in dens:
                if other != den:
                    weight *= other
            terms.append(
                Term(
                    term.categories,
                    term.measure,
                    weight,
                    term.thc_mg_per_unit_max,
                    term.thc_mg_per_unit_over,
                )
            )
        cap_scaled = _cap(pack, where, spec, unit_size, scale)
    places = spec.places if spec.places is not None else DEFAULT_PLACES.get(spec.unit, 4)
    return LimitRule(
        id=spec.id,
        label=spec.label,
        sources=pack.urls(where, spec.source),
        confidence=spec.confidence,
        effective_from=spec.effective.from_,
        effective_to=spec.effective.to,
        applies_to=applies,
        history_classes=frozenset(root_class(pack.classes, c) for c in applies),
        window=spec.window.type,
        window_days=spec.window.days,
        scope=spec.scope,
        kind=spec.kind,
        unit=spec.unit,
        places=places,
        scale=scale,
        cap_scaled=cap_scaled,
        terms=tuple(terms),
        note=str(spec.note or ""),
    )


def _fraction(
    pack: _Pack,
    where: str,
    rule: LimitSpec,
    term: TermSpec,
    limited: frozenset[str],
    unit_size: tuple[Decimal, str] | None,
) -> tuple[Decimal, Decimal]:
    """Give what one raw base unit of the term adds to the rule, as numerator and denominator."""
    for category in sorted(term.categories):
        if category not in limited:
            raise pack.fail(where, f"category {category!r} is marked limited: false in categories")
    dimension = MEASURE_DIMENSION[term.measure]
    if rule.kind == "bucket":
        assert unit_size is not None
        if unit_size[1] != dimension:
            raise pack.fail(
                where, f"measure {term.measure} ({dimension}) cannot be counted in {rule.unit}"
            )
        return Decimal(1), unit_size[0]
    assert term.divisor is not None
    divisor = pack.base(term.divisor)
    if term.divisor.dimension != dimension:
        raise pack.fail(
            where,
            f"divisor is a {term.divisor.dimension} but measure {term.measure} is {dimension}",
        )
    counts = term.counts_as
    if unit_size is not None and isinstance(counts, str):
        counts_base, counts_dimension = pack.quantity(where, "counts_as", counts)
        if counts_dimension != unit_size[1]:
            raise pack.fail(where, f"counts_as must be in the pool's unit ({rule.unit})")
        with localcontext(EXACT):
            return counts_base, divisor * unit_size[0]
    if isinstance(counts, str):
        raise pack.fail(where, f"counts_as must be a number, not {counts!r}")
    return counts, divisor


def _cap(
    pack: _Pack, where: str, spec: LimitSpec, unit_size: tuple[Decimal, str] | None, scale: Decimal
) -> Decimal:
    """Give the cap in the rule's scaled units (exactly, or say why it cannot be)."""
    cap = spec.cap
    if unit_size is not None and isinstance(cap, str):
        cap_base, cap_dimension = pack.quantity(where, "cap", cap)
        if cap_dimension != unit_size[1]:
            raise pack.fail(where, f"cap is a {cap_dimension} but the rule's unit is {spec.unit}")
        try:
            return cap_base * scale / unit_size[0]
        except Inexact as exc:
            raise pack.fail(where, f"cap {cap!r} is not exact in {spec.unit}") from exc
    if isinstance(cap, str):
        raise pack.fail(where, f"cap must be a number, not {cap!r}")
    return cap * scale


def _tax(pack: _Pack, spec: TaxSpec) -> TaxRule:
    where = f"tax {spec.id!r}"
    applies = None
    if spec.applies_to is not None:
        applies = pack.class_set(where, "applies_to", spec.applies_to)
    schedule = tuple(
        RatePeriod(
            start=period.from_,
            end=period.to,
            percent=period.percent,
            by_product=tuple(
                ProductRate(o.percent, o.categories, o.thc_pct_above) for o in period.by_product
            ),
        )
        for period in spec.rate_schedule or ()
    )
    exemptions = tuple(
        Exemption(
            classes=pack.class_set(f"{where} exempt {index + 1}", "classes", e.classes),
            products=e.products,
            store_flags=e.store_flags,
            product_flags=e.product_flags,
            start=e.from_,
            end=e.to,
        )
        for index, e in enumerate(spec.exempt)
    )
    return TaxRule(
        id=spec.id,
        name=spec.name,
        sources=pack.urls(where, spec.source),
        confidence=spec.confidence,
        applies_to=applies,
        products=spec.products,
        display=spec.display,
        base_includes=spec.base_includes,
        rounding=spec.rounding,
        schedule=schedule,
        local_rate=spec.local_rate,
        max_percent=spec.max_percent,
        exemptions=exemptions,
        note=str(spec.note or ""),
        max_sources=() if spec.max_source is None else pack.urls(where, spec.max_source),
    )


def _check_tax_order(pack: _Pack, taxes: tuple[TaxRule, ...]) -> None:
    """Refuse a tax whose base includes a tax that is not computed before it."""
    seen: set[str] = set()
    for tax in taxes:
        for ref in tax.base_includes:
            if ref not in seen:
                raise pack.fail(
                    f"tax {tax.id!r}", f"base_includes {ref!r} must name a tax listed above it"
                )
        seen.add(tax.id)


def _addresses(pack: _Pack, specs: list[AddressSpec]) -> tuple[StateAddress, ...]:
    """Read the state systems' known API hosts (the only ones a manager may pick)."""
    addresses = tuple(
        StateAddress(
            system=spec.system,
            kind=spec.kind,
            url=spec.url,
            label=spec.label or f"{_SYSTEM_NAMES[spec.system]} {spec.kind}",
            sources=pack.urls(f"tracktrace address #{index + 1}", spec.source),
        )
        for index, spec in enumerate(specs)
    )
    _unique(pack, "tracktrace address", [a.url for a in addresses])
    return addresses


def _unique(pack: _Pack, kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise pack.fail(f"{kind} {item!r}", "duplicate id")
        seen.add(item)
