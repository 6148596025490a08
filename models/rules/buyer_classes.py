"""Which customer classes a buyer buys under: those given, their ancestors, and derived ones."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from models.rules.cart_lines import CustomerProfile
from models.rules.verdicts import Refusal

if TYPE_CHECKING:
    from models.rules.pack_rules import CustomerClass, RulePack


def resolve_classes(
    pack: RulePack, profile: CustomerProfile, today: date
) -> tuple[frozenset[str], list[Refusal]]:
    """Check age per class, then add ancestors and the classes derived from age and residency."""
    _check_given(pack, profile)
    age = profile.age_on(today)
    eligible, refusals = _old_enough(pack, profile, age)
    active = _with_ancestors(pack, eligible)
    # An 18-20 rule follows the patient's age when a caregiver buys; unknown ages get it anyway.
    subject_age = profile.patient_age if profile.caregiver_for else age
    _add_derived(pack, profile.resident, subject_age, active)
    if not eligible and not refusals:
        refusals.append(Refusal("class", "The customer qualifies for no class of sale."))
    return frozenset(active), refusals


def _check_given(pack: RulePack, profile: CustomerProfile) -> None:
    """Refuse a class the pack does not know, or one the engine derives itself."""
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


def _old_enough(
    pack: RulePack, profile: CustomerProfile, age: int | None
) -> tuple[set[str], list[Refusal]]:
    """Split the given classes into those the buyer is old enough for and refusals for the rest."""
    eligible: set[str] = set()
    refusals: list[Refusal] = []
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
    return eligible, refusals


def _with_ancestors(pack: RulePack, classes: set[str]) -> set[str]:
    """Add every class the given ones extend."""
    active = set(classes)
    for name in classes:
        while (parent := pack.classes[name].extends) is not None:
            active.add(parent)
            name = parent
    return active


def _add_derived(pack: RulePack, resident: bool, age: int | None, active: set[str]) -> None:
    """Add derived classes whose parent is active and whose residency and age range fit."""
    changed = True
    while changed:
        changed = False
        for cls in pack.classes.values():
            if _derives(cls, resident, age) and cls.name not in active and cls.extends in active:
                active.add(cls.name)
                changed = True


def _derives(cls: CustomerClass, resident: bool, age: int | None) -> bool:
    """Say whether a derived class fits the buyer (an unknown age fits any range)."""
    if not cls.derived:
        return False
    if cls.resident is not None and resident != cls.resident:
        return False
    if cls.age_range is None or age is None:
        return True
    low, high = cls.age_range
    return low <= age <= high


def _inherited(pack: RulePack, name: str, field: str) -> int | None:
    current: str | None = name
    while current is not None:
        value = getattr(pack.classes[current], field)
        if value is not None:
            return value
        current = pack.classes[current].extends
    return None
