"""One units module: money, weights, potency and percent, read and written exactly."""

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints import filters
from models.units import (
    UnitError,
    grams,
    grams_amount,
    milligrams,
    money,
    money_amount,
    parse_decimal,
    parse_grams,
    parse_milligrams,
    parse_money,
    parse_percent,
    parse_rate,
    percent,
    percent_amount,
)

APP_JS = Path(__file__).resolve().parent.parent / "static" / "js" / "app.js"
SETTINGS = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "$0.00"),
        (1, "$0.01"),
        (99, "$0.99"),
        (100, "$1.00"),
        (123456, "$1,234.56"),
        (-150, "-$1.50"),
        (-1, "-$0.01"),
        (123456789012, "$1,234,567,890.12"),
    ],
)
def test_money_reads_as_dollars_with_the_sign_before_the_dollar_sign(cents, text):
    assert money(cents) == text


def test_money_for_a_box_is_bare_dollars_and_cents():
    assert [money_amount(c) for c in (0, 5, 750, 123456, -150)] == [
        "0.00",
        "0.05",
        "7.50",
        "1234.56",
        "-1.50",
    ]


def test_money_refuses_anything_but_whole_cents():
    for value in (1.5, Decimal("1.5"), True):
        with pytest.raises(TypeError):
            money(value)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1.50", 150),
        ("$1,234.5", 123450),
        ("  2 ", 200),
        ("12", 1200),
        (".5", 50),
        ("1.500", 150),
        ("0", 0),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_money_typed_by_people_becomes_whole_cents(text, cents):
    parsed = parse_money(text)
    assert parsed == cents and (parsed is None or type(parsed) is int)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.505", "at most 2 decimals"),
        ("abc", "as a number"),
        ("-1", "must be positive"),
        ("1e3", "as a number"),
        ("NaN", "as a number"),
        ("Infinity", "as a number"),
        ("１２", "as a number"),
        ("$", "as a number"),
        ("1.2.3", "as a number"),
        ("9" * 14, "far more"),
    ],
)
def test_money_that_is_not_money_is_refused_with_a_reason(text, reason):
    with pytest.raises(UnitError, match=reason) as refused:
        parse_money(text)
    assert "an amount of money" in str(refused.value)


@SETTINGS
@given(st.integers(0, 10**15 - 1))
def test_money_reads_back_what_it_writes(cents):
    assert parse_money(money(cents)) == cents
    assert parse_money(money_amount(cents)) == cents


@pytest.mark.parametrize(
    ("mg", "text", "box"),
    [(0, "0 g", "0"), (1, "0.001 g", "0.001"), (3500, "3.5 g", "3.5"), (28350, "28.35 g", "28.35")],
)
def test_grams_are_written_exactly_from_milligrams(mg, text, box):
    assert (grams(mg), grams_amount(mg)) == (text, box)


@SETTINGS
@given(st.integers(0, 10**12))
def test_grams_and_milligrams_round_trip(mg):
    assert parse_grams(grams_amount(mg)) == mg
    assert parse_grams(grams(mg).replace(",", "")) == mg


def test_grams_typed_by_people():
    assert parse_grams("3.5") == 3500 and parse_grams("0.001 g") == 1 and parse_grams("7G") == 7000
    assert parse_grams("") is None
    for text in ("1.0005", "-1", "1e3", "g", "NaN"):
        with pytest.raises(UnitError, match="a weight in grams"):
            parse_grams(text)


def test_potency_reads_as_a_label():
    assert (milligrams(100), milligrams(2500)) == ("100 mg", "2,500 mg")
    assert (percent(2150), percent(2000), percent(1), percent(1234, places=2)) == (
        "21.5%",
        "20%",
        "0%",
        "12.34%",
    )
    assert parse_milligrams("100 mg") == 100
    with pytest.raises(UnitError, match="no decimals"):
        parse_milligrams("2.5")


@pytest.mark.parametrize(
    ("text", "basis_points"),
    [("8.25", Decimal(825)), ("7.875", Decimal("787.5")), ("4.81%", Decimal(481)), ("0", 0)],
)
def test_tax_rates_read_as_exact_basis_points(text, basis_points):
    rate = parse_rate(text)
    assert rate == basis_points and type(rate) is Decimal
    assert format(rate.normalize(), "f") == str(basis_points)


def test_percents_read_in_hundredths_and_write_back():
    assert (parse_percent("12.5%"), parse_percent("10"), parse_percent("8.25 %")) == (
        1250,
        1000,
        825,
    )
    assert (percent_amount(1250), percent_amount(1000), percent_amount(825)) == (
        "12.5",
        "10",
        "8.25",
    )
    for text in ("7.8755", "-1", "1e2", "Infinity"):
        with pytest.raises(UnitError, match="a percent"):
            parse_rate(text)


def test_plain_decimals_are_read_exactly_as_typed():
    assert parse_decimal("787.5") == Decimal("787.5") and str(parse_decimal("8")) == "8"
    for text in ("1e3", "NaN", "-Infinity", "0x10", "1_000"):
        with pytest.raises(UnitError):
            parse_decimal(text)


def test_template_filters_are_the_units_functions():
    assert (filters.money(-150), filters.money(None)) == ("-$1.50", "—")
    assert (filters.money_amount(750), filters.money_amount(None)) == ("7.50", "")
    assert (filters.grams(3500), filters.percent(2150), filters.milligrams(100)) == (
        "3.5 g",
        "21.5%",
        "100 mg",
    )


def _run_app_js(cents_list: list[int], texts: list[str]) -> dict:
    """Run app.js's own money and cents functions under Node for the given inputs."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("no Node.js to run static/js/app.js")
    source = APP_JS.read_text()
    functions = [
        re.search(rf"^  function {name}\(.*?^  }}$", source, re.M | re.S).group(0)
        for name in ("cents", "money")
    ]
    script = "\n".join(
        [
            *functions,
            "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));",
            "console.log(JSON.stringify({money: input.cents.map(money),"
            " cents: input.texts.map(cents)}));",
        ]
    )
    done = subprocess.run(
        [node, "-e", script],
        input=json.dumps({"cents": cents_list, "texts": texts}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def _python_cents(text: str) -> int | None:
    try:
        return parse_money(text)
    except UnitError:
        return None


def test_app_js_writes_and_reads_money_as_the_units_module_does():
    cents_list = [0, 1, 5, 99, 100, 101, 999, 1000, 123456, 100000000, 999999999999999]
    cents_list += [-c for c in cents_list if c] + list(range(0, 100_000, 37))
    texts = ["", " ", "0", "12", "12.5", "12.50", "12.500", "12.505", "$1,234.5", "  2 ", ".5"]
    texts += ["5.", ".", "$", "-1", "-0", "1e3", "NaN", "Infinity", "abc", "１２", "1.2.3", "$ 5"]
    texts += ["9" * 13, "9" * 14, "9" * 13 + ".99", "0000000000000001", ",$5", "5$"]
    answer = _run_app_js(cents_list, texts)
    assert answer["money"] == [money(c) for c in cents_list]
    assert answer["cents"] == [_python_cents(t) for t in texts]
