"""Turn pydantic's findings about a pack into one message naming the file, rule and field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from models.rules.pack_rules import RulePackError

Loc = tuple[str | int, ...]
# Sections whose own problems are named by the section ("limits: expected a list").
_SECTIONS = (
    "constants",
    "sources",
    "customer_classes",
    "categories",
    "limits",
    "taxes",
    "tracktrace",
)
# Lists inside a rule whose items are named by position ("term 2", "rate 1").
_ITEMS = {"terms": "term", "rate_schedule": "rate", "by_product": "option", "exempt": "exempt"}
# Mappings inside a rule or the pack that are named for missing and unknown fields.
_PARTS = ("window", "effective")
_STRUCTURAL = ("missing", "extra_forbidden")
_MAPPING = ("model_type", "dict_type", "model_attributes_type")


def pack_error(exc: ValidationError, data: Any, path: str) -> RulePackError:
    """Describe the first problem the way a person reads the pack, top to bottom."""
    errors = [_with_tail(error) for error in exc.errors()]
    first = _first(errors)
    if first["type"] in _STRUCTURAL:
        parent = first["loc"][:-1]
        names = sorted(
            str(e["loc"][-1])
            for e in errors
            if e["type"] == first["type"] and e["loc"][:-1] == parent
        )
        where = _place(data, parent, part=True)
        verb = "missing" if first["type"] == "missing" else "unknown field(s)"
        return RulePackError(f"{path}: {where}: {verb} {', '.join(names)}")
    loc = first["loc"]
    # A section that is not a mapping is named like its fields: "limit 'x' effective: expected…".
    part = first["type"] in _MAPPING and loc[-1:] == ("effective",)
    return RulePackError(f"{path}: {_place(data, loc, part)}: {_message(first)}")


def _with_tail(error: ErrorDetails) -> ErrorDetails:
    """Extend a location by the item a table or list validator pointed at."""
    cause = (error.get("ctx") or {}).get("error")
    tail = getattr(cause, "tail", ())
    return {**error, "loc": (*error["loc"], *tail)} if tail else error


def _first(errors: list[ErrorDetails]) -> ErrorDetails:
    """Pick the error read first: at each level missing and unknown fields come before values."""
    first = errors[0]
    loc = first["loc"]
    for depth in range(len(loc)):
        for kind in _STRUCTURAL:
            for error in errors:
                if error["type"] == kind and error["loc"][:-1] == loc[:depth]:
                    return error
    return first


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in _MAPPING:
        return f"expected a mapping, got {type(error['input']).__name__}"
    if kind == "list_type":
        return (
            "expected a list of addresses" if error["loc"] == ("tracktrace",) else "expected a list"
        )
    field = error["loc"][-1] if error["loc"] else "pack"
    return f"{field}: {error['msg']}"


def _place(data: Any, loc: Loc, part: bool) -> str:
    """Name where a location points: the pack, a section, a class, a rule and its term or rate."""
    if not loc or loc[0] not in _SECTIONS:
        return "pack effective" if part and loc == ("effective",) else "pack"
    section, rest = loc[0], loc[1:]
    if not rest or section == "constants":
        return str(section)
    key = rest[0]
    if section == "sources":
        return f"source {key}"
    if section == "customer_classes":
        return f"class {key!r}"
    if section == "categories":
        return f"category {key!r}"
    if section == "tracktrace":
        return f"tracktrace address #{int(key) + 1}"
    return _rule_place(data, section, int(key), rest[1:], part)


def _rule_place(data: Any, section: str | int, index: int, rest: Loc, part: bool) -> str:
    kind = "limit" if section == "limits" else "tax"
    raw = data[section][index]
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    where = f"{kind} {rule_id!r}" if isinstance(rule_id, str) else f"{kind} #{index + 1}"
    while rest:
        head = rest[0]
        if head in _ITEMS and len(rest) > 1 and isinstance(rest[1], int):
            where += f" {_ITEMS[str(head)]} {rest[1] + 1}"
            rest = rest[2:]
            continue
        if part and head in _PARTS and len(rest) == 1:
            where += f" {head}"
        break
    return where
