"""Load and validate state rule packs (rules/<state>.yaml) into typed, exact rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, Inexact, localcontext
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from models.rules.limits import EXACT, LIMIT_CATEGORIES

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


CONFIDENCES = ("H", "M", "L")
WINDOWS = ("transaction", "calendar_day", "calendar_month", "rolling_days")
SCOPES = ("store", "statewide")
KINDS = ("bucket", "pool")
MEASURES = ("weight", "thc", "volume", "count")
DISPLAYS = ("added", "included")
ROUNDINGS = ("half_up", "up", "down", "half_even")
PRODUCT_SETS = ("cannabis", "non_cannabis", "all")
SYSTEMS = ("metrc", "biotrack")
ADDRESS_KINDS = ("production", "sandbox")
# A state system's API host: https only, a lowercase DNS name, no port, user or query; an optional
# path (BioTrack's legacy serverjson.asp) without a trailing slash.
_ADDRESS = re.compile(
    r"^https://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?:/[A-Za-z0-9._-]+)*$"
)
# A measure reads one dimension of a cart line: mass in mg, liquid volume in microlitres, or units.
MEASURE_DIMENSION = {"weight": "mass", "thc": "mass", "volume": "volume", "count": "count"}
DEFAULT_PLACES = {"mg": 0, "g": 3, "oz": 4, "ml": 0, "fl_oz": 2, "units": 0}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z_]+)\s*$")


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
        return _root(self.classes, name)


class _Loader(yaml.SafeLoader):
    """Read YAML floats as Decimal and leave dates as text so errors can name the rule."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor(
    "tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node))
)


class _Where:
    """Carry the file and rule being read so every error message can name them."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> RulePackError:
        """Build an error naming the file, the rule and the problem."""
        return RulePackError(f"{self.path}: {where}: {message}")


def available_states() -> list[str]:
    """List the state codes that have a pack under rules/."""
    return sorted(p.stem.upper() for p in RULES_DIR.glob("*.yaml"))


def load_pack(state: str) -> RulePack:
    """Load and validate rules/<state>.yaml once per process."""
    code = state.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise RulePackError(f"{state!r} is not a two-letter state code")
    return _load_cached(code)


@cache
def _load_cached(code: str) -> RulePack:
    path = RULES_DIR / f"{code.lower()}.yaml"
    if not path.exists():
        raise RulePackError(
            f"no rule pack for {code}; available: {', '.join(available_states()) or 'none'}"
        )
    return load_pack_file(path)


def load_pack_file(path: str | Path) -> RulePack:
    """Load and validate one pack file (uncached)."""
    path = Path(path)
    shown = f"rules/{path.name}" if path.parent == RULES_DIR else str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise RulePackError(f"{shown}: not valid YAML: {exc}") from exc
    return parse_pack(data, shown, expected_state=path.stem.upper())


def parse_pack(data: Any, path: str, expected_state: str | None = None) -> RulePack:
    """Validate pack data (as read from YAML) and compile it."""
    w = _Where(path)
    top = _mapping(w, "pack", data)
    _keys(
        w,
        "pack",
        top,
        required={"schema_version", "state", "name", "timezone", "confidence", "effective"},
        optional={
            "constants",
            "sources",
            "customer_classes",
            "categories",
            "limits",
            "taxes",
            "notes",
            "jurisdiction",
            "tracktrace",
        },
    )
    if top["schema_version"] != 1:
        raise w.fail("pack", f"schema_version must be 1, not {top['schema_version']!r}")
    state = _text(w, "pack", "state", top["state"]).upper()
    if expected_state is not None and state != expected_state:
        raise w.fail("pack", f"state {state!r} does not match the file name ({expected_state})")
    zone = _text(w, "pack", "timezone", top["timezone"])
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise w.fail("pack", f"unknown time zone {zone!r}") from exc
    effective = _effective(w, "pack", top["effective"])
    constants = _mapping(w, "constants", top.get("constants") or {})
    _keys(w, "constants", constants, optional={"g_per_oz", "ml_per_fl_oz"})
    g_per_oz = _positive(w, "constants", "g_per_oz", constants.get("g_per_oz", Decimal("28.3495")))
    ml_per_fl_oz = _positive(
        w, "constants", "ml_per_fl_oz", constants.get("ml_per_fl_oz", Decimal("29.5735"))
    )
    sources = {}
    for key, url in _mapping(w, "sources", top.get("sources") or {}).items():
        sources[str(key)] = _url(w, f"source {key}", url)
    ctx = _PackContext(w, sources, g_per_oz, ml_per_fl_oz)
    classes = _classes(w, top.get("customer_classes"))
    limited, notes = _categories(w, top.get("categories"))
    limits = tuple(
        _limit(ctx, classes, limited, i, raw) for i, raw in enumerate(_list(w, "limits", top))
    )
    _unique(w, "limit", [rule.id for rule in limits])
    used = {c for rule in limits for term in rule.terms for c in term.categories}
    unused = sorted(limited - used)
    if unused:
        raise w.fail(
            f"category {unused[0]!r}", "marked limited but no limit rule counts it (mark it false)"
        )
    taxes = tuple(_tax(ctx, classes, i, raw) for i, raw in enumerate(_list(w, "taxes", top)))
    _unique(w, "tax", [tax.id for tax in taxes])
    seen: set[str] = set()
    for tax in taxes:
        for ref in tax.base_includes:
            if ref not in seen:
                raise w.fail(
                    f"tax {tax.id!r}", f"base_includes {ref!r} must name a tax listed above it"
                )
        seen.add(tax.id)
    return RulePack(
        state=state,
        name=_text(w, "pack", "name", top["name"]),
        path=path,
        timezone=zone,
        confidence=_confidence(w, "pack", top["confidence"]),
        effective_from=effective[0],
        g_per_oz=g_per_oz,
        ml_per_fl_oz=ml_per_fl_oz,
        sources=sources,
        classes=classes,
        limited_categories=frozenset(limited),
        category_notes=notes,
        limits=limits,
        taxes=taxes,
        local_taxes=frozenset(t.local_rate for t in taxes if t.local_rate),
        addresses=_addresses(ctx, top.get("tracktrace")),
    )


def _addresses(ctx: _PackContext, raw: Any) -> tuple[StateAddress, ...]:
    """Read the state systems' known API hosts (the only ones a manager may pick)."""
    w = ctx.w
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise w.fail("tracktrace", "expected a list of addresses")
    addresses = []
    for index, item in enumerate(raw):
        where = f"tracktrace address #{index + 1}"
        spec = _mapping(w, where, item)
        _keys(w, where, spec, required={"system", "kind", "url", "source"}, optional={"label"})
        if spec["system"] not in SYSTEMS:
            raise w.fail(where, f"system must be one of {', '.join(SYSTEMS)}")
        if spec["kind"] not in ADDRESS_KINDS:
            raise w.fail(where, f"kind must be one of {', '.join(ADDRESS_KINDS)}")
        url = spec["url"]
        if not isinstance(url, str) or not _ADDRESS.match(url):
            raise w.fail(
                where,
                f"url {url!r} must be https:// and a host name (no port, user, query or "
                "trailing slash)",
            )
        system_name = {"metrc": "Metrc", "biotrack": "BioTrack"}[spec["system"]]
        label = spec.get("label") or f"{system_name} {spec['kind']}"
        addresses.append(
            StateAddress(
                system=spec["system"],
                kind=spec["kind"],
                url=url,
                label=_text(w, where, "label", label),
                sources=ctx.urls(where, spec["source"]),
            )
        )
    _unique(w, "tracktrace address", [a.url for a in addresses])
    return tuple(addresses)


@dataclass(frozen=True, slots=True)
class _PackContext:
    """What rule parsing needs from the pack: errors, sources and unit constants."""

    w: _Where
    sources: dict[str, str]
    g_per_oz: Decimal
    ml_per_fl_oz: Decimal

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

    def quantity(self, where: str, field: str, value: Any) -> tuple[Decimal, str]:
        """Parse '2 oz', '800 mg', '36 fl_oz' into (amount in base units, dimension)."""
        text = value if isinstance(value, str) else None
        match = _QUANTITY.match(text) if text else None
        if not match:
            raise self.w.fail(where, f"{field} must be a quantity like '8 g', not {value!r}")
        size = self.unit_base(match.group(2))
        if size is None:
            raise self.w.fail(
                where, f"{field}: unknown unit {match.group(2)!r} (mg, g, oz, ml, fl_oz, units)"
            )
        with localcontext(EXACT):
            amount = Decimal(match.group(1)) * size[0]
        if amount <= 0:
            raise self.w.fail(where, f"{field} must be positive")
        return amount, size[1]

    def urls(self, where: str, value: Any) -> tuple[str, ...]:
        """Resolve a rule's source (an id from `sources` or a URL, or a list of them)."""
        items = value if isinstance(value, list) else [value]
        if not items or value is None:
            raise self.w.fail(where, "source is required")
        out = []
        for item in items:
            if isinstance(item, str) and item in self.sources:
                out.append(self.sources[item])
            else:
                out.append(_url(self.w, where, item))
        return tuple(out)


def _classes(w: _Where, raw: Any) -> dict[str, CustomerClass]:
    table = _mapping(w, "customer_classes", raw)
    if not table:
        raise w.fail("customer_classes", "at least one class is required")
    out: dict[str, CustomerClass] = {}
    for name, spec in table.items():
        where = f"class {name!r}"
        if not isinstance(name, str) or not _ID.match(name):
            raise w.fail(where, "class names are lower_snake_case")
        spec = _mapping(w, where, spec or {})
        _keys(
            w,
            where,
            spec,
            optional={
                "extends",
                "min_age",
                "caregiver_min_age",
                "age_range",
                "resident",
                "cap_multiplier",
                "note",
            },
        )
        age_range = spec.get("age_range")
        if age_range is not None:
            if (
                not isinstance(age_range, list)
                or len(age_range) != 2
                or not all(_is_int(a) for a in age_range)
                or age_range[0] > age_range[1]
            ):
                raise w.fail(where, "age_range must be [lowest, highest] ages")
            age_range = (age_range[0], age_range[1])
        resident = spec.get("resident")
        if resident is not None and not isinstance(resident, bool):
            raise w.fail(where, "resident must be true or false")
        multiplier = spec.get("cap_multiplier")
        if multiplier is not None:
            multiplier = _positive(w, where, "cap_multiplier", multiplier)
            if multiplier > 1:
                raise w.fail(where, "cap_multiplier may only lower caps (at most 1)")
        out[name] = CustomerClass(
            name=name,
            extends=spec.get("extends"),
            min_age=_opt_int(w, where, "min_age", spec.get("min_age")),
            caregiver_min_age=_opt_int(
                w, where, "caregiver_min_age", spec.get("caregiver_min_age")
            ),
            age_range=age_range,
            resident=resident,
            cap_multiplier=multiplier,
        )
    for cls in out.values():
        if cls.extends is not None and cls.extends not in out:
            raise w.fail(f"class {cls.name!r}", f"extends unknown class {cls.extends!r}")
        if cls.derived and cls.extends is None:
            raise w.fail(f"class {cls.name!r}", "a class derived by age or residency needs extends")
        seen = {cls.name}
        parent = cls.extends
        while parent is not None:
            if parent in seen:
                raise w.fail(f"class {cls.name!r}", "extends forms a cycle")
            seen.add(parent)
            parent = out[parent].extends
    return out


def _categories(w: _Where, raw: Any) -> tuple[set[str], dict[str, str]]:
    table = _mapping(w, "categories", raw)
    limited: set[str] = set()
    notes: dict[str, str] = {}
    for name in table:
        if name not in LIMIT_CATEGORIES:
            raise w.fail(
                f"category {name!r}", f"unknown category (known: {', '.join(LIMIT_CATEGORIES)})"
            )
    for name in LIMIT_CATEGORIES:
        if name not in table:
            raise w.fail("categories", f"{name!r} is missing: say whether it is limited")
        spec = _mapping(w, f"category {name!r}", table[name])
        _keys(w, f"category {name!r}", spec, required={"limited"}, optional={"note"})
        if not isinstance(spec["limited"], bool):
            raise w.fail(f"category {name!r}", "limited must be true or false")
        if spec["limited"]:
            limited.add(name)
        if spec.get("note"):
            notes[name] = str(spec["note"])
    return limited, notes


def _limit(
    ctx: _PackContext,
    classes: dict[str, CustomerClass],
    limited: set[str],
    index: int,
    raw: Any,
) -> LimitRule:
    w = ctx.w
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    where = f"limit {rule_id!r}" if isinstance(rule_id, str) else f"limit #{index + 1}"
    spec = _mapping(w, where, raw)
    _keys(
        w,
        where,
        spec,
        required={
            "id",
            "label",
            "source",
            "confidence",
            "effective",
            "applies_to",
            "window",
            "kind",
            "unit",
            "cap",
            "terms",
        },
        optional={"scope", "places", "note"},
    )
    if not _ID.match(str(rule_id)):
        raise w.fail(where, "id must be lower_snake_case")
    start, end = _effective(w, where, spec["effective"])
    applies = _class_list(w, where, "applies_to", spec["applies_to"], classes)
    window = _mapping(w, where, spec["window"])
    _keys(w, f"{where} window", window, required={"type"}, optional={"days"})
    if window["type"] not in WINDOWS:
        raise w.fail(where, f"window type {window['type']!r} is not one of {', '.join(WINDOWS)}")
    days = window.get("days")
    if window["type"] == "rolling_days":
        if not _is_int(days) or days < 1:
            raise w.fail(where, "a rolling_days window needs days: a positive whole number")
    elif days is not None:
        raise w.fail(where, "only a rolling_days window takes days")
    scope = spec.get("scope", "store")
    if scope not in SCOPES:
        raise w.fail(where, f"scope must be one of {', '.join(SCOPES)}")
    kind = spec["kind"]
    if kind not in KINDS:
        raise w.fail(where, f"kind must be bucket or pool, not {kind!r}")
    unit = _text(w, where, "unit", spec["unit"])
    unit_size = ctx.unit_base(unit)
    if kind == "bucket" and unit_size is None:
        raise w.fail(where, f"a bucket's unit must be mg, g, oz, ml, fl_oz or units, not {unit!r}")
    places = spec.get("places", DEFAULT_PLACES.get(unit, 4))
    if not _is_int(places) or not 0 <= places <= 6:
        raise w.fail(where, "places must be a whole number from 0 to 6")
    terms_raw = spec["terms"]
    if not isinstance(terms_raw, list) or not terms_raw:
        raise w.fail(where, "terms must be a non-empty list")
    fractions: list[tuple[frozenset[str], str, Decimal, Decimal, int | None, int | None]] = []
    seen_unconditional: set[str] = set()
    seen_conditional: set[str] = set()
    for t_index, term_raw in enumerate(terms_raw):
        t_where = f"{where} term {t_index + 1}"
        term = _mapping(w, t_where, term_raw)
        _keys(
            w,
            t_where,
            term,
            required={"categories", "measure"},
            optional={"divisor", "counts_as", "thc_mg_per_unit_max", "thc_mg_per_unit_over"},
        )
        cats = term["categories"] if isinstance(term["categories"], list) else [term["categories"]]
        for cat in cats:
            if cat not in LIMIT_CATEGORIES:
                raise w.fail(
                    t_where, f"unknown category {cat!r} (known: {', '.join(LIMIT_CATEGORIES)})"
                )
            if cat not in limited:
                raise w.fail(t_where, f"category {cat!r} is marked limited: false in categories")
        measure = term["measure"]
        if measure not in MEASURES:
            raise w.fail(t_where, f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
        dimension = MEASURE_DIMENSION[measure]
        t_max = _opt_int(w, t_where, "thc_mg_per_unit_max", term.get("thc_mg_per_unit_max"))
        t_over = _opt_int(w, t_where, "thc_mg_per_unit_over", term.get("thc_mg_per_unit_over"))
        if t_max is not None and t_over is not None:
            raise w.fail(t_where, "give thc_mg_per_unit_max or thc_mg_per_unit_over, not both")
        conditional = t_max is not None or t_over is not None
        for cat in cats:
            if cat in seen_unconditional or (not conditional and cat in seen_conditional):
                raise w.fail(t_where, f"category {cat!r} is already counted by another term")
            (seen_conditional if conditional else seen_unconditional).add(cat)
        if kind == "bucket":
            assert unit_size is not None
            if "divisor" in term or "counts_as" in term:
                raise w.fail(t_where, "bucket terms take no divisor or counts_as (use a pool)")
            if unit_size[1] != dimension:
                raise w.fail(
                    t_where, f"measure {measure} ({dimension}) cannot be counted in {unit}"
                )
            num, den = Decimal(1), unit_size[0]
        else:
            if "divisor" not in term:
                raise w.fail(t_where, "pool terms need a divisor (how much makes one cap unit)")
            div, div_dim = ctx.quantity(t_where, "divisor", term["divisor"])
            if div_dim != dimension:
                raise w.fail(
                    t_where, f"divisor is a {div_dim} but measure {measure} is {dimension}"
                )
            counts = term.get("counts_as", 1)
            if unit_size is not None and isinstance(counts, str):
                c_base, c_dim = ctx.quantity(t_where, "counts_as", counts)
                if c_dim != unit_size[1]:
                    raise w.fail(t_where, f"counts_as must be in the pool's unit ({unit})")
                num, den = c_base, div * unit_size[0]
            else:
                num, den = _positive(w, t_where, "counts_as", counts), div
        fractions.append((frozenset(cats), measure, num, den, t_max, t_over))
    # Scale all terms to a common denominator so sums and the cap compare exactly.
    with localcontext(EXACT):
        dens = sorted({f[3] for f in fractions})
        scale = Decimal(1)
        for den in dens:
            scale *= den
        terms = []
        for cats, measure, num, den, t_max, t_over in fractions:
            weight = num
            for other in dens:
                if other != den:
                    weight *= other
            terms.append(Term(cats, measure, weight, t_max, t_over))
        cap_raw = spec["cap"]
        if unit_size is not None and isinstance(cap_raw, str):
            cap_base, cap_dim = ctx.quantity(where, "cap", cap_raw)
            if cap_dim != unit_size[1]:
                raise w.fail(where, f"cap is a {cap_dim} but the rule's unit is {unit}")
            try:
                cap_scaled = cap_base * scale / unit_size[0]
            except Inexact as exc:
                raise w.fail(where, f"cap {cap_raw!r} is not exact in {unit}") from exc
        else:
            cap_scaled = _positive(w, where, "cap", cap_raw) * scale
    return LimitRule(
        id=rule_id,
        label=_text(w, where, "label", spec["label"]),
        sources=ctx.urls(where, spec["source"]),
        confidence=_confidence(w, where, spec["confidence"]),
        effective_from=start,
        effective_to=end,
        applies_to=applies,
        history_classes=frozenset(_root(classes, c) for c in applies),
        window=window["type"],
        window_days=days,
        scope=scope,
        kind=kind,
        unit=unit,
        places=places,
        scale=scale,
        cap_scaled=cap_scaled,
        terms=tuple(terms),
        note=str(spec.get("note") or ""),
    )


def _tax(ctx: _PackContext, classes: dict[str, CustomerClass], index: int, raw: Any) -> TaxRule:
    w = ctx.w
    tax_id = raw.get("id") if isinstance(raw, dict) else None
    where = f"tax {tax_id!r}" if isinstance(tax_id, str) else f"tax #{index + 1}"
    spec = _mapping(w, where, raw)
    _keys(
        w,
        where,
        spec,
        required={"id", "name", "source", "confidence"},
        optional={
            "applies_to",
            "products",
            "display",
            "base_includes",
            "rounding",
            "rate_schedule",
            "local_rate",
            "max_percent",
            "max_source",
            "exempt",
            "note",
        },
    )
    if not _ID.match(str(tax_id)):
        raise w.fail(where, "id must be lower_snake_case")
    applies = spec.get("applies_to")
    applies_set = None if applies is None else _class_list(w, where, "applies_to", applies, classes)
    display = spec.get("display", "added")
    if display not in DISPLAYS:
        raise w.fail(where, f"display must be added or included, not {display!r}")
    rounding = spec.get("rounding", "half_up")
    if rounding not in ROUNDINGS:
        raise w.fail(where, f"rounding must be one of {', '.join(ROUNDINGS)}, not {rounding!r}")
    base_includes = spec.get("base_includes") or []
    if not isinstance(base_includes, list) or not all(isinstance(b, str) for b in base_includes):
        raise w.fail(where, "base_includes must be a list of tax ids")
    if display == "included" and base_includes:
        raise w.fail(where, "a tax included in the shelf price cannot have base_includes")
    has_schedule = "rate_schedule" in spec
    local = spec.get("local_rate")
    if has_schedule == (local is not None):
        raise w.fail(where, "give exactly one of rate_schedule (state rate) or local_rate (store)")
    if local is not None and (not isinstance(local, str) or not _ID.match(local)):
        raise w.fail(where, "local_rate must name a store setting (lower_snake_case)")
    max_percent = spec.get("max_percent")
    if local is not None and max_percent is None:
        raise w.fail(where, "a local_rate needs max_percent: the cap the state's law sets")
    if max_percent is not None:
        if local is None:
            raise w.fail(where, "max_percent only applies to a local_rate")
        max_percent = _percent(w, where, max_percent)
        if "max_source" not in spec:
            raise w.fail(where, "max_percent needs max_source: where the cap comes from")
    max_sources = ctx.urls(where, spec["max_source"]) if "max_source" in spec else ()
    schedule = _schedule(w, where, spec["rate_schedule"]) if has_schedule else ()
    if display == "included" and any(p.by_product for p in schedule):
        raise w.fail(where, "an included tax must have a flat rate")
    exemptions = []
    for e_index, e_raw in enumerate(spec.get("exempt") or []):
        e_where = f"{where} exempt {e_index + 1}"
        e = _mapping(w, e_where, e_raw)
        _keys(
            w,
            e_where,
            e,
            required={"classes"},
            optional={"products", "store_flags", "product_flags", "from", "to"},
        )
        exemptions.append(
            Exemption(
                classes=_class_list(w, e_where, "classes", e["classes"], classes),
                products=_products(w, e_where, e.get("products", "all")),
                store_flags=_flags(w, e_where, e.get("store_flags")),
                product_flags=_flags(w, e_where, e.get("product_flags")),
                start=_opt_date(w, e_where, "from", e.get("from")),
                end=_opt_date(w, e_where, "to", e.get("to")),
            )
        )
    return TaxRule(
        id=tax_id,
        name=_text(w, where, "name", spec["name"]),
        sources=ctx.urls(where, spec["source"]),
        confidence=_confidence(w, where, spec["confidence"]),
        applies_to=applies_set,
        products=_products(w, where, spec.get("products", "cannabis")),
        display=display,
        base_includes=tuple(base_includes),
        rounding=rounding,
        schedule=schedule,
        local_rate=local,
        max_percent=max_percent,
        exemptions=tuple(exemptions),
        note=str(spec.get("note") or ""),
        max_sources=max_sources,
    )


def _schedule(w: _Where, where: str, raw: Any) -> tuple[RatePeriod, ...]:
    if not isinstance(raw, list) or not raw:
        raise w.fail(where, "rate_schedule must be a non-empty list")
    periods = []
    for i, item in enumerate(raw):
        p_where = f"{where} rate {i + 1}"
        entry = _mapping(w, p_where, item)
        _keys(w, p_where, entry, optional={"from", "to", "percent", "by_product"})
        if ("percent" in entry) == ("by_product" in entry):
            raise w.fail(p_where, "give percent or by_product")
        start = _opt_date(w, p_where, "from", entry.get("from"))
        end = _opt_date(w, p_where, "to", entry.get("to"))
        if start and end and end < start:
            raise w.fail(p_where, f"to ({end}) is before from ({start})")
        by_product = []
        if "by_product" in entry:
            options = entry["by_product"]
            if not isinstance(options, list) or not options:
                raise w.fail(p_where, "by_product must be a non-empty list")
            for j, opt_raw in enumerate(options):
                o_where = f"{p_where} option {j + 1}"
                opt = _mapping(w, o_where, opt_raw)
                _keys(
                    w, o_where, opt, required={"percent"}, optional={"categories", "thc_pct_above"}
                )
                cats = opt.get("categories")
                if cats is not None:
                    cats = frozenset(_category_names(w, o_where, cats))
                above = opt.get("thc_pct_above")
                by_product.append(
                    ProductRate(
                        percent=_percent(w, o_where, opt["percent"]),
                        categories=cats,
                        thc_percent_above=None if above is None else _percent(w, o_where, above),
                    )
                )
            last = by_product[-1]
            if last.categories is not None or last.thc_percent_above is not None:
                raise w.fail(p_where, "the last by_product option must be the catch-all (no when)")
        periods.append(
            RatePeriod(
                start=start,
                end=end,
                percent=_opt_percent(w, p_where, entry),
                by_product=tuple(by_product),
            )
        )
    ordered = sorted(periods, key=lambda p: p.start or date.min)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.end is None or (later.start is not None and later.start <= earlier.end):
            raise w.fail(where, f"rate periods overlap around {later.start}")
    return tuple(ordered)


def _opt_percent(w: _Where, where: str, entry: dict[str, Any]) -> Decimal | None:
    return _percent(w, where, entry["percent"]) if "percent" in entry else None


def _products(w: _Where, where: str, value: Any) -> str | frozenset[str]:
    if isinstance(value, str) and value in PRODUCT_SETS:
        return value
    if isinstance(value, list):
        return frozenset(_category_names(w, where, value))
    raise w.fail(where, f"products must be one of {', '.join(PRODUCT_SETS)} or a category list")


def _category_names(w: _Where, where: str, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if item not in LIMIT_CATEGORIES:
            raise w.fail(where, f"unknown category {item!r} (known: {', '.join(LIMIT_CATEGORIES)})")
    return items


def _flags(w: _Where, where: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise w.fail(where, "flags must be a list of names")
    return frozenset(value)


def _class_list(
    w: _Where, where: str, field: str, value: Any, classes: dict[str, CustomerClass]
) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise w.fail(where, f"{field} must name at least one class")
    for item in items:
        if item not in classes:
            raise w.fail(
                where, f"{field}: unknown class {item!r} (known: {', '.join(sorted(classes))})"
            )
    return frozenset(items)


def _root(classes: dict[str, CustomerClass], name: str) -> str:
    while classes[name].extends is not None:
        name = classes[name].extends  # type: ignore[assignment]
    return name


def _effective(w: _Where, where: str, raw: Any) -> tuple[date, date | None]:
    spec = _mapping(w, f"{where} effective", raw)
    _keys(w, f"{where} effective", spec, required={"from"}, optional={"to"})
    start = _opt_date(w, where, "effective.from", spec["from"])
    if start is None:
        raise w.fail(where, "effective.from is required")
    end = _opt_date(w, where, "effective.to", spec.get("to"))
    if end is not None and end < start:
        raise w.fail(where, f"effective.to ({end}) is before effective.from ({start})")
    return start, end


def _opt_date(w: _Where, where: str, field: str, value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise w.fail(where, f"{field}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _percent(w: _Where, where: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise w.fail(where, f"percent must be a number, not {value!r}")
    number = Decimal(value)
    if not 0 <= number <= 100:
        raise w.fail(where, f"percent {number} is not between 0 and 100")
    return number


def _positive(w: _Where, where: str, field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise w.fail(where, f"{field} must be a number, not {value!r}")
    number = Decimal(value)
    if number <= 0:
        raise w.fail(where, f"{field} must be positive")
    return number


def _opt_int(w: _Where, where: str, field: str, value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value < 0:
        raise w.fail(where, f"{field} must be a whole number, not {value!r}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _confidence(w: _Where, where: str, value: Any) -> str:
    if value not in CONFIDENCES:
        raise w.fail(where, f"confidence must be H, M or L, not {value!r}")
    return value


def _url(w: _Where, where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://\S+$", value):
        raise w.fail(where, f"source must be a URL or a source id, not {value!r}")
    return value


def _text(w: _Where, where: str, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise w.fail(where, f"{field} must be non-empty text")
    return value.strip()


def _mapping(w: _Where, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise w.fail(where, f"expected a mapping, got {type(value).__name__}")
    return value


def _list(w: _Where, field: str, top: dict[str, Any]) -> list[Any]:
    value = top.get(field) or []
    if not isinstance(value, list):
        raise w.fail(field, "expected a list")
    return value


def _keys(
    w: _Where,
    where: str,
    spec: dict[str, Any],
    required: set[str] | frozenset[str] = frozenset(),
    optional: set[str] | frozenset[str] = frozenset(),
) -> None:
    missing = sorted(required - spec.keys())
    if missing:
        raise w.fail(where, f"missing {', '.join(missing)}")
    unknown = sorted(set(spec) - required - optional)
    if unknown:
        raise w.fail(where, f"unknown field(s) {', '.join(map(str, unknown))}")


def _unique(w: _Where, kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise w.fail(f"{kind} {item!r}", "duplicate id")
        seen.add(item)
