"""Load state rule packs (rules/<state>.yaml): read the YAML, validate its shape, compile it."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from models.rules.compile import compile_pack
from models.rules.pack_rules import RulePack, RulePackError
from models.rules.schema import PackSpec
from models.rules.schema_errors import pack_error

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


class _Loader(yaml.SafeLoader):
    """Read YAML floats as Decimal and leave dates as text so errors can name the rule."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor(
    "tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node))
)


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
    try:
        spec = PackSpec.model_validate(data)
    except ValidationError as exc:
        raise pack_error(exc, data, path) from exc
    return compile_pack(spec, path, expected_state)
