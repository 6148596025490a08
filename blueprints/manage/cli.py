"""`flask limits check` and `flask taxes quote`: the limit and tax engines from a shell."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup

from models.rules.cart_lines import CartLine, CustomerProfile, PastPurchase, parse_line
from models.rules.limits import evaluate, sale_time
from models.rules.pack_rules import RulePack, RulePackError
from models.rules.packs import load_pack
from models.rules.taxes import PricedLine, TaxInputError, quote
from models.units import UnitError, parse_decimal, parse_money

limits_cli = AppGroup("limits", help="Check purchase limits against a state's rule pack.")
taxes_cli = AppGroup("taxes", help="Quote taxes from a state's rule pack.")

LINE_HELP = "CATEGORY:NET_WEIGHT[:THC_MG] e.g. flower:14g, edible:100g:200mg (repeatable)"


def _pack(state: str) -> RulePack:
    try:
        return load_pack(state)
    except RulePackError as exc:
        raise click.BadParameter(str(exc), param_hint="--state") from exc


def _day(text: str | None, pack: RulePack) -> datetime:
    if text is None:
        return datetime.now(ZoneInfo(pack.timezone))
    try:
        return sale_time(date.fromisoformat(text), pack.timezone)
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint="--date"
        ) from exc


def _lines(specs: tuple[str, ...], pack: RulePack) -> list[tuple[CartLine, dict[str, str]]]:
    if not specs:
        raise click.UsageError("give at least one --line")
    out = []
    for spec in specs:
        try:
            out.append(parse_line(spec, pack.g_per_oz))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--line") from exc
    return out


def _history(path: str | None, pack: RulePack) -> list[PastPurchase]:
    """Read past purchases: [{"at": "2026-06-30T14:05", "lines": ["flower:14g"], "classes": []}]."""
    if path is None:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--history") from exc
    if not isinstance(data, list):
        raise click.BadParameter("history must be a JSON list of purchases", param_hint="--history")
    out = []
    for index, item in enumerate(data):
        where = f"history item {index + 1}"
        try:
            if not isinstance(item, dict) or not isinstance(item.get("lines"), list):
                raise ValueError("needs 'at' and a list of 'lines'")
            at = datetime.fromisoformat(str(item["at"]))
            lines = [_history_line(line, pack) for line in item["lines"]]
            classes = item.get("classes")
            out.append(PastPurchase(at, tuple(lines), None if classes is None else set(classes)))
        except (KeyError, TypeError, ValueError) as exc:
            raise click.BadParameter(f"{where}: {exc}", param_hint="--history") from exc
    return out


def _history_line(raw: Any, pack: RulePack) -> CartLine:
    if isinstance(raw, str):
        line, extra = parse_line(raw, pack.g_per_oz)
        if extra:
            raise ValueError(f"unexpected {', '.join(extra)} in {raw!r}")
        return line
    if isinstance(raw, dict):
        return CartLine(
            category=raw.get("category"),
            net_weight_mg=raw.get("net_weight_mg"),
            thc_mg=raw.get("thc_mg"),
            quantity=raw.get("quantity", 1),
            label=raw.get("label", ""),
        )
    raise ValueError(f"a line must be text or an object, not {raw!r}")


def _emit(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False))


@limits_cli.command("check", with_appcontext=False)
@click.option("--state", required=True, help="Two-letter state code of the rule pack.")
@click.option("--class", "classes", multiple=True, required=True, help="adult_use, medical, …")
@click.option("--non-resident", is_flag=True, help="The customer is not a resident of the state.")
@click.option("--age", type=click.IntRange(min=0), help="Customer's age (caregiver's if one).")
@click.option("--caregiver-for", help="Patient id: a caregiver buys against their allotment.")
@click.option("--patient-age", type=click.IntRange(min=0), help="The patient's age.")
@click.option("--date", "day", help="Local business day, YYYY-MM-DD (default today).")
@click.option("--history", type=click.Path(dir_okay=False), help="JSON file of past purchases.")
@click.option("--line", "specs", multiple=True, help=LINE_HELP)
def check_command(
    state: str,
    classes: tuple[str, ...],
    non_resident: bool,
    age: int | None,
    caregiver_for: str | None,
    patient_age: int | None,
    day: str | None,
    history: str | None,
    specs: tuple[str, ...],
) -> None:
    """Print the verdict as JSON; exit 0 if allowed, 1 if refused, 2 on bad input."""
    pack = _pack(state)
    at = _day(day, pack)
    lines = _lines(specs, pack)
    for _line, extra in lines:
        if extra:
            raise click.BadParameter(f"unexpected {', '.join(extra)}", param_hint="--line")
    past = _history(history, pack)
    try:
        profile = CustomerProfile(
            classes=frozenset(classes),
            age=age,
            resident=not non_resident,
            caregiver_for=caregiver_for,
            patient_age=patient_age,
        )
        verdict = evaluate(pack, profile, [line for line, _ in lines], past, at)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    _emit(verdict.to_dict())
    click.get_current_context().exit(0 if verdict.ok else 1)


@taxes_cli.command("quote", with_appcontext=False)
@click.option("--state", required=True, help="Two-letter state code of the rule pack.")
@click.option("--class", "classes", multiple=True, required=True, help="adult_use, medical, …")
@click.option("--date", "day", help="Local business day, YYYY-MM-DD (default today).")
@click.option(
    "--local", "locals_", multiple=True, help="Local rate NAME=BASIS_POINTS (repeatable)."
)
@click.option("--store-flag", "store_flags", multiple=True, help="e.g. medical_endorsement")
@click.option(
    "--line",
    "specs",
    multiple=True,
    help="CATEGORY:NET_WEIGHT[:THC_MG]:price=DOLLARS[:thc_pct=N][:flags=a,b] (repeatable)",
)
def quote_command(
    state: str,
    classes: tuple[str, ...],
    day: str | None,
    locals_: tuple[str, ...],
    store_flags: tuple[str, ...],
    specs: tuple[str, ...],
) -> None:
    """Print the tax lines and totals as JSON; exit 0, or 2 on bad input."""
    pack = _pack(state)
    at = _day(day, pack)
    priced = [_priced(line, extra) for line, extra in _lines(specs, pack)]
    rates = {name: _decimal(value, "--local") for name, value in _pairs(locals_)}
    try:
        result = quote(pack, priced, at, classes, rates, store_flags=store_flags)
    except TaxInputError as exc:
        raise click.UsageError(str(exc)) from exc
    _emit(result.to_dict())


def _pairs(items: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=BASIS_POINTS", param_hint="--local")
        out.append((name.strip(), value.strip()))
    return out


def _decimal(text: str, hint: str) -> Decimal:
    try:
        value = parse_decimal(text)
    except UnitError:
        value = None
    if value is None:
        raise click.BadParameter(f"{text!r} is not a number", param_hint=hint)
    return value


def _priced(line: CartLine, extra: dict[str, str]) -> PricedLine:
    options = dict(extra)
    price = options.pop("price", None)
    if price is None:
        raise click.BadParameter("each line needs price=DOLLARS", param_hint="--line")
    try:
        cents = parse_money(price)
    except UnitError as exc:
        message = f"price {price!r} is not a number of dollars in whole cents"
        raise click.BadParameter(message, param_hint="--line") from exc
    if cents is None:
        raise click.BadParameter("each line needs price=DOLLARS", param_hint="--line")
    thc_pct = options.pop("thc_pct", None)
    thc_percent = None if thc_pct is None else _decimal(thc_pct, "--line")
    flags = frozenset(f for f in options.pop("flags", "").split(",") if f)
    if options:
        raise click.BadParameter(f"unexpected {', '.join(options)}", param_hint="--line")
    return PricedLine(line, cents, thc_percent=thc_percent, flags=flags)
