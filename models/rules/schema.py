"""The shape of a rule pack file (rules/<state>.yaml), validated by pydantic before compiling."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from models.rules.cart_lines import LIMIT_CATEGORIES
from models.rules.schema_fields import (
    ADDRESS,
    ADDRESS_KINDS,
    DISPLAYS,
    ID,
    KINDS,
    MEASURES,
    ROUNDINGS,
    SCOPES,
    SYSTEMS,
    UNIT_DIMENSION,
    WINDOWS,
    Categories,
    ClassRefs,
    Confidence,
    Date,
    DivisorQuantity,
    Flags,
    Identifier,
    OptionalSourceRefs,
    PackValueError,
    Percent,
    Positive,
    PositiveOrQuantity,
    Products,
    SourceRefs,
    TaxIds,
    Text,
    Url,
    Whole,
    YesNo,
    choice,
    dated,
    is_whole,
    non_empty_list,
)


def _or_empty(empty: Any) -> BeforeValidator:
    """Read a missing or null section as empty."""
    return BeforeValidator(lambda value: value or empty)


class _Spec(BaseModel):
    """A part of a pack: unknown fields are refused, values are read once and kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Effective(_Spec):
    """When a pack or a limit is in force."""

    from_: Annotated[date, dated("effective.from", required=True)] = Field(alias="from")
    to: Annotated[date | None, dated("effective.to")] = None

    @model_validator(mode="after")
    def _in_order(self) -> Effective:
        if self.to is not None and self.to < self.from_:
            raise PackValueError(
                f"effective.to ({self.to}) is before effective.from ({self.from_})"
            )
        return self


class Window(_Spec):
    """The period a limit sums over."""

    type: Annotated[
        str, choice(WINDOWS, "window type {value!r} is not one of " + ", ".join(WINDOWS))
    ]
    days: Any = None

    @model_validator(mode="after")
    def _days(self) -> Window:
        if self.type == "rolling_days":
            if not is_whole(self.days) or self.days < 1:
                raise PackValueError("a rolling_days window needs days: a positive whole number")
        elif self.days is not None:
            raise PackValueError("only a rolling_days window takes days")
        return self


class TermSpec(_Spec):
    """What one group of categories adds to a limit."""

    categories: Categories
    measure: Annotated[
        str, choice(MEASURES, "measure must be one of " + ", ".join(MEASURES) + ", not {value!r}")
    ]
    divisor: DivisorQuantity | None = None
    counts_as: PositiveOrQuantity = Decimal(1)
    thc_mg_per_unit_max: Whole = None
    thc_mg_per_unit_over: Whole = None

    @model_validator(mode="after")
    def _one_condition(self) -> TermSpec:
        if self.thc_mg_per_unit_max is not None and self.thc_mg_per_unit_over is not None:
            raise PackValueError("give thc_mg_per_unit_max or thc_mg_per_unit_over, not both")
        return self

    @property
    def conditional(self) -> bool:
        """Say whether the term depends on the line's THC per unit."""
        return self.thc_mg_per_unit_max is not None or self.thc_mg_per_unit_over is not None


class LimitSpec(_Spec):
    """One purchase limit as written in the pack."""

    id: Identifier
    label: Text
    source: SourceRefs
    confidence: Confidence
    effective: Effective
    applies_to: ClassRefs
    window: Window
    scope: Annotated[str, choice(SCOPES, "scope must be one of " + ", ".join(SCOPES))] = "store"
    kind: Annotated[str, choice(KINDS, "kind must be bucket or pool, not {value!r}")]
    unit: Text
    places: int | None = None
    cap: PositiveOrQuantity
    terms: Annotated[
        list[TermSpec], BeforeValidator(non_empty_list("terms must be a non-empty list"))
    ]
    note: Any = None

    @field_validator("places", mode="plain")
    @classmethod
    def _places(cls, value: Any) -> int:
        if not is_whole(value) or not 0 <= value <= 6:
            raise PackValueError("places must be a whole number from 0 to 6")
        return int(value)

    @model_validator(mode="after")
    def _terms(self) -> LimitSpec:
        if self.kind == "bucket" and self.unit not in UNIT_DIMENSION:
            raise PackValueError(
                f"a bucket's unit must be mg, g, oz, ml, fl_oz or units, not {self.unit!r}"
            )
        counted: set[str] = set()
        conditional: set[str] = set()
        for index, term in enumerate(self.terms):
            at = ("terms", index)
            for category in sorted(term.categories, key=LIMIT_CATEGORIES.index):
                if category in counted or (not term.conditional and category in conditional):
                    raise PackValueError(
                        f"category {category!r} is already counted by another term", at
                    )
                (conditional if term.conditional else counted).add(category)
            given = term.model_fields_set
            if self.kind == "bucket" and ({"divisor", "counts_as"} & given):
                raise PackValueError("bucket terms take no divisor or counts_as (use a pool)", at)
            if self.kind == "pool" and term.divisor is None:
                raise PackValueError("pool terms need a divisor (how much makes one cap unit)", at)
        return self


class ProductRateSpec(_Spec):
    """A rate for products matching every given condition."""

    percent: Percent
    categories: Categories | None = None
    thc_pct_above: Percent | None = None


class RatePeriodSpec(_Spec):
    """A tax rate, flat or by product, in force between two dates."""

    from_: Date = Field(default=None, alias="from")
    to: Date = None
    percent: Percent | None = None
    by_product: Annotated[
        list[ProductRateSpec],
        BeforeValidator(non_empty_list("by_product must be a non-empty list")),
    ] = []

    @model_validator(mode="after")
    def _rate(self) -> RatePeriodSpec:
        if (self.percent is not None) == bool(self.by_product):
            raise PackValueError("give percent or by_product")
        if self.from_ and self.to and self.to < self.from_:
            raise PackValueError(f"to ({self.to}) is before from ({self.from_})")
        last = self.by_product[-1] if self.by_product else None
        if last is not None and (last.categories is not None or last.thc_pct_above is not None):
            raise PackValueError("the last by_product option must be the catch-all (no when)")
        return self


class ExemptionSpec(_Spec):
    """When a tax is not charged (every condition must hold)."""

    classes: ClassRefs
    products: Products = "all"
    store_flags: Flags = frozenset()
    product_flags: Flags = frozenset()
    from_: Date = Field(default=None, alias="from")
    to: Date = None


class TaxSpec(_Spec):
    """One tax as written in the pack."""

    id: Identifier
    name: Text
    source: SourceRefs
    confidence: Confidence
    applies_to: ClassRefs | None = None
    products: Products = "cannabis"
    display: Annotated[
        str, choice(DISPLAYS, "display must be added or included, not {value!r}")
    ] = "added"
    base_includes: TaxIds = ()
    rounding: Annotated[
        str,
        choice(ROUNDINGS, "rounding must be one of " + ", ".join(ROUNDINGS) + ", not {value!r}"),
    ] = "half_up"
    rate_schedule: Annotated[
        list[RatePeriodSpec] | None,
        BeforeValidator(non_empty_list("rate_schedule must be a non-empty list")),
    ] = None
    local_rate: str | None = None
    max_percent: Percent | None = None
    max_source: OptionalSourceRefs = None
    exempt: Annotated[list[ExemptionSpec], _or_empty([])] = []
    note: Any = None

    @field_validator("local_rate", mode="plain")
    @classmethod
    def _local_rate(cls, value: Any) -> str | None:
        if value is not None and (not isinstance(value, str) or not ID.match(value)):
            raise PackValueError("local_rate must name a store setting (lower_snake_case)")
        return value

    @field_validator("rate_schedule", mode="after")
    @classmethod
    def _periods(cls, periods: list[RatePeriodSpec] | None) -> list[RatePeriodSpec] | None:
        if periods is None:
            return None
        ordered = sorted(periods, key=lambda p: p.from_ or date.min)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.to is None or (later.from_ is not None and later.from_ <= earlier.to):
                raise PackValueError(f"rate periods overlap around {later.from_}")
        return ordered

    @model_validator(mode="after")
    def _rates(self) -> TaxSpec:
        if self.display == "included" and self.base_includes:
            raise PackValueError("a tax included in the shelf price cannot have base_includes")
        if (self.rate_schedule is None) == (self.local_rate is None):
            raise PackValueError(
                "give exactly one of rate_schedule (state rate) or local_rate (store)"
            )
        if self.local_rate is not None and self.max_percent is None:
            raise PackValueError("a local_rate needs max_percent: the cap the state's law sets")
        if self.max_percent is not None and self.local_rate is None:
            raise PackValueError("max_percent only applies to a local_rate")
        if self.max_percent is not None and self.max_source is None:
            raise PackValueError("max_percent needs max_source: where the cap comes from")
        if self.display == "included" and any(p.by_product for p in self.rate_schedule or ()):
            raise PackValueError("an included tax must have a flat rate")
        return self


class AddressSpec(_Spec):
    """A state system's API host that stores may report to."""

    system: Annotated[str, choice(SYSTEMS, "system must be one of " + ", ".join(SYSTEMS))]
    kind: Annotated[str, choice(ADDRESS_KINDS, "kind must be one of " + ", ".join(ADDRESS_KINDS))]
    url: str
    source: SourceRefs
    label: Annotated[Text | None, BeforeValidator(lambda v: v or None)] = None

    @field_validator("url", mode="plain")
    @classmethod
    def _host(cls, value: Any) -> str:
        if not isinstance(value, str) or not ADDRESS.match(value):
            raise PackValueError(
                f"url {value!r} must be https:// and a host name (no port, user, query or "
                "trailing slash)"
            )
        return value


class ClassSpec(_Spec):
    """A buyer class: given (adult_use, medical) or derived from age or residence."""

    extends: str | None = None
    min_age: Whole = None
    caregiver_min_age: Whole = None
    age_range: tuple[int, int] | None = None
    resident: YesNo = None
    cap_multiplier: Positive | None = None
    note: Any = None

    @field_validator("age_range", mode="plain")
    @classmethod
    def _ages(cls, value: Any) -> tuple[int, int] | None:
        if value is None:
            return None
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(is_whole(a) for a in value)
            or value[0] > value[1]
        ):
            raise PackValueError("age_range must be [lowest, highest] ages")
        return value[0], value[1]

    @field_validator("cap_multiplier", mode="after")
    @classmethod
    def _lowers(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value > 1:
            raise PackValueError("cap_multiplier may only lower caps (at most 1)")
        return value

    @property
    def derived(self) -> bool:
        """Say whether the engine adds this class itself from the profile."""
        return self.age_range is not None or self.resident is not None


def _class_name(value: Any) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise PackValueError("class names are lower_snake_case")
    return value


def _category_key(value: Any) -> str:
    if value not in LIMIT_CATEGORIES:
        raise PackValueError(f"unknown category (known: {', '.join(LIMIT_CATEGORIES)})")
    return str(value)


def _limited(value: Any) -> bool:
    if not isinstance(value, bool):
        raise PackValueError("limited must be true or false")
    return value


def _mapping(value: Any) -> Any:
    if not isinstance(value, dict):
        raise PackValueError(f"expected a mapping, got {type(value).__name__}")
    return value


class CategorySpec(_Spec):
    """Whether a limit category is limited in this state, and why."""

    limited: Annotated[bool, BeforeValidator(_limited)]
    note: Any = None


class Constants(_Spec):
    """The unit conversions the state's law uses."""

    g_per_oz: Positive = Decimal("28.3495")
    ml_per_fl_oz: Positive = Decimal("29.5735")


ClassName = Annotated[str, BeforeValidator(_class_name)]
CategoryName = Annotated[str, BeforeValidator(_category_key)]


class PackSpec(_Spec):
    """A whole rule pack file."""

    schema_version: Any
    state: Text
    timezone: Text
    effective: Effective
    constants: Annotated[Constants, _or_empty({})] = Constants()
    sources: Annotated[dict[Annotated[str, BeforeValidator(str)], Url], _or_empty({})] = {}
    customer_classes: Annotated[
        dict[ClassName, Annotated[ClassSpec, _or_empty({})]], BeforeValidator(_mapping)
    ] = Field(default=None, validate_default=True)
    categories: Annotated[dict[CategoryName, CategorySpec], BeforeValidator(_mapping)] = Field(
        default=None, validate_default=True
    )
    limits: Annotated[list[LimitSpec], _or_empty([])] = []
    taxes: Annotated[list[TaxSpec], _or_empty([])] = []
    name: Text
    confidence: Confidence
    tracktrace: Annotated[list[AddressSpec], BeforeValidator(lambda v: [] if v is None else v)] = []
    jurisdiction: Any = None
    notes: Any = None

    @field_validator("schema_version", mode="plain")
    @classmethod
    def _version(cls, value: Any) -> int:
        if value != 1:
            raise PackValueError(f"schema_version must be 1, not {value!r}")
        return 1

    @field_validator("state", mode="after")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("timezone", mode="after")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PackValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("customer_classes", mode="after")
    @classmethod
    def _class_links(cls, table: dict[str, ClassSpec]) -> dict[str, ClassSpec]:
        if not table:
            raise PackValueError("at least one class is required")
        for name, spec in table.items():
            if spec.extends is not None and spec.extends not in table:
                raise PackValueError(f"extends unknown class {spec.extends!r}", (name,))
            if spec.derived and spec.extends is None:
                raise PackValueError("a class derived by age or residency needs extends", (name,))
            seen = {name}
            parent = spec.extends
            while parent is not None:
                if parent in seen:
                    raise PackValueError("extends forms a cycle", (name,))
                seen.add(parent)
                parent = table[parent].extends
        return table

    @field_validator("categories", mode="after")
    @classmethod
    def _every_category(cls, table: dict[str, CategorySpec]) -> dict[str, CategorySpec]:
        for name in LIMIT_CATEGORIES:
            if name not in table:
                raise PackValueError(f"{name!r} is missing: say whether it is limited")
        return table
