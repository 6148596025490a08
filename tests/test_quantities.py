"""One way to write quantities: plain decimals with the units people use, never an exponent."""

from decimal import Context, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.units import DOWN, NEAREST, UNITS, UP, amount, grams, quantity, stock

SETTINGS = settings(max_examples=300, deadline=None)
values = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False
)
roundings = st.sampled_from((NEAREST, UP, DOWN))


def read_back(text: str) -> Decimal:
    """Read a written amount back as a person would (thousands separators dropped)."""
    return Decimal(text.replace(",", ""))


@SETTINGS
@given(value=values, unit=st.sampled_from(sorted(UNITS)), rounding=roundings)
def test_no_amount_ever_has_an_exponent_and_it_reads_back_within_its_places(value, unit, rounding):
    text = amount(value, unit, rounding=rounding)
    assert "e" not in text.lower()
    places = UNITS[unit].places
    step = Decimal(1).scaleb(-places)
    back = read_back(text)
    assert not (text.startswith("-") and back == 0)
    # Exact differences: the default 28 digits would round -5E-31 + 0.01 up to 0.01.
    with localcontext(Context(prec=100)):
        if rounding == NEAREST:
            assert abs(back - value) <= step / 2
        elif rounding == UP:
            assert Decimal(0) <= back - value < step
        else:
            assert Decimal(0) <= value - back < step
    if UNITS[unit].fixed:
        assert len(text.partition(".")[2]) == places
    else:
        assert not text.endswith(".") and ("." not in text or not text.endswith("0"))


@SETTINGS
@given(milligrams=st.integers(-(10**9), 10**9))
def test_grams_of_product_are_exact_to_the_milligram(milligrams):
    text = grams(milligrams)
    assert text.endswith(" g") and "e" not in text[:-2].lower()
    assert read_back(text[:-2]) * 1000 == milligrams


def test_a_tiny_amount_rounds_the_way_asked_without_losing_digits():
    assert amount(Decimal("-5E-31"), "allowance", rounding=DOWN) == "-0.01"
    assert amount(Decimal("5E-31"), "g", rounding=UP) == "0.01"
    assert amount(Decimal("5E-31"), "g") == "0"


@pytest.mark.parametrize(
    ("value", "unit", "rounding", "expected"),
    [
        (Decimal("100"), "mg", NEAREST, "100 mg"),
        (Decimal("800"), "mg", NEAREST, "800 mg"),
        (Decimal("2.5"), "mg", NEAREST, "2.5 mg"),
        (Decimal("1600"), "mg", NEAREST, "1,600 mg"),
        (Decimal("3.500"), "g", NEAREST, "3.5 g"),
        (Decimal("56.699"), "g", NEAREST, "56.7 g"),
        (Decimal("52.199"), "g", DOWN, "52.19 g"),
        (Decimal("8"), "g", NEAREST, "8 g"),
        (Decimal("0.1235"), "oz_eq", UP, "0.13 oz"),
        (Decimal("1"), "oz_eq", NEAREST, "1.00 oz"),
        (Decimal("0.0583"), "oz_eq", UP, "0.06 oz"),
        (Decimal("72"), "fl_oz", NEAREST, "72 fl oz"),
        (Decimal("10"), "percent", NEAREST, "10%"),
        (Decimal("7.875"), "percent", NEAREST, "7.875%"),
        (Decimal("-0.001"), "g", NEAREST, "0 g"),
        (Decimal("1E+2"), "mg", NEAREST, "100 mg"),
    ],
)
def test_quantities_read_as_people_say_them(value, unit, rounding, expected):
    assert quantity(value, unit, rounding=rounding) == expected


def test_stock_quantities_name_their_unit():
    assert stock(3, "each") == "3 ea"
    assert stock(3500, "grams") == "3.5 g"
    assert stock(3456, "grams") == "3.456 g"


@pytest.mark.parametrize("bad", [1.5, float("nan"), "NaN", "Infinity", "two grams", True])
def test_floats_and_non_numbers_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        amount(bad, "g")
