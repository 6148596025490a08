"""Tax engine: each pack's taxes, dated rates, exemptions, included taxes and rounding."""

from datetime import date
from decimal import Decimal

import pytest

from models.rules.cart_lines import CartLine
from models.rules.packs import load_pack
from models.rules.taxes import PricedLine, TaxInputError, quote

FLOWER = CartLine("flower", 3500, 700)
ACCESSORY = CartLine(None)
DAY = date(2026, 7, 1)


def summary(result):
    """Reduce a quote to {tax_id: (percent, base, amount)} plus the totals."""
    lines = {t.tax_id: (str(t.percent), t.base_cents, t.amount_cents) for t in result.lines}
    return lines, result.tax_cents, result.total_cents


def assert_adds_up(result):
    assert sum(t.amount_cents for t in result.lines) == result.tax_cents
    assert result.total_cents == result.net_cents + result.tax_cents
    assert sum(i.total_cents for i in result.items) == result.total_cents
    assert result.subtotal_cents == (
        result.net_cents
        + result.included_tax_cents
        + sum(t.amount_cents for t in result.waived if t.included)
    )


@pytest.mark.parametrize(
    ("day", "percent", "excise"),
    [(date(2026, 6, 30), "13", 520), (date(2026, 7, 1), "14", 560), (date(2030, 7, 1), "18", 720)],
)
def test_nm_excise_steps_up_each_july(day, percent, excise):
    result = quote(
        load_pack("NM"),
        [PricedLine(FLOWER, 4000)],
        day,
        ["adult_use"],
        {"gross_receipts": Decimal("787.5")},
    )
    lines, tax, total = summary(result)
    assert lines == {
        "nm_cannabis_excise": (percent, 4000, excise),
        "nm_gross_receipts": ("7.875", 4000, 315),
    }
    assert (tax, total) == (excise + 315, 4000 + excise + 315)
    assert_adds_up(result)


def test_nm_medical_card_removes_excise_and_grt_on_cannabis_only():
    result = quote(
        load_pack("NM"),
        [PricedLine(FLOWER, 4000), PricedLine(ACCESSORY, 1000)],
        DAY,
        ["medical"],
        {"gross_receipts": Decimal("787.5")},
    )
    lines, tax, total = summary(result)
    assert lines == {"nm_gross_receipts": ("7.875", 1000, 79)}
    assert (tax, total) == (79, 5079)
    assert {t.tax_id for t in result.waived} == {"nm_cannabis_excise", "nm_gross_receipts"}
    assert result.waived_cents == 560 + 315
    assert_adds_up(result)


def test_wa_excise_is_in_the_shelf_price_and_not_in_the_sales_tax_base():
    result = quote(
        load_pack("WA"), [PricedLine(FLOWER, 1370)], DAY, ["adult_use"], {"local_sales": 250}
    )
    lines, tax, total = summary(result)
    assert lines == {
        "wa_cannabis_excise": ("37", 1000, 370),
        "wa_state_sales": ("6.5", 1000, 65),
        "wa_local_sales": ("2.5", 1000, 25),
    }
    assert result.included_tax_cents == 370 and result.added_tax_cents == 90
    assert (result.net_cents, tax, total) == (1000, 460, 1460)
    assert [t.included for t in result.lines] == [True, False, False]
    assert_adds_up(result)


def test_wa_back_calculation_rounds_and_still_adds_up():
    result = quote(load_pack("WA"), [PricedLine(FLOWER, 1999)], DAY, ["adult_use"])
    # 1999 / 1.37 = 1459.12…: excise 539.88… rounds to 540, so the net is 1459.
    assert (result.net_cents, result.included_tax_cents) == (1459, 540)
    assert result.lines[1].base_cents == 1459 and result.lines[1].amount_cents == 95
    assert_adds_up(result)


@pytest.mark.parametrize(
    ("classes", "store", "flags", "day", "total"),
    [
        (["medical"], ["medical_endorsement"], ["doh_compliant"], DAY, 1000),
        (["medical"], ["medical_endorsement"], [], DAY, 1370),
        (["medical"], [], ["doh_compliant"], DAY, 1435),
        (["medical"], ["medical_endorsement"], ["doh_compliant"], date(2024, 6, 5), 1370),
        (["adult_use"], ["medical_endorsement"], ["doh_compliant"], DAY, 1435),
    ],
)
def test_wa_medical_exemptions_depend_on_store_product_and_date(classes, store, flags, day, total):
    priced = PricedLine(FLOWER, 1370, flags=frozenset(flags))
    result = quote(load_pack("WA"), [priced], day, classes, store_flags=store)
    assert result.total_cents == total
    assert_adds_up(result)


@pytest.mark.parametrize(
    ("day", "excise", "sales"),
    [(date(2025, 8, 1), 1900, 863), (date(2025, 10, 1), 1500, 834), (date(2025, 6, 30), 1500, 834)],
)
def test_ca_excise_2025_change_and_sales_tax_on_top_of_excise(day, excise, sales):
    result = quote(load_pack("CA"), [PricedLine(FLOWER, 10000)], day, ["adult_use"])
    lines, tax, total = summary(result)
    assert lines["ca_cannabis_excise"][2] == excise
    assert lines["ca_state_sales"] == ("7.25", 10000 + excise, sales)
    assert total == 10000 + excise + sales


def test_ca_mmic_removes_sales_tax_but_not_excise():
    result = quote(
        load_pack("CA"), [PricedLine(FLOWER, 10000)], DAY, ["mmic"], {"district_sales": 100}
    )
    lines, tax, total = summary(result)
    assert lines == {"ca_cannabis_excise": ("15", 10000, 1500)}
    assert total == 11500
    plain_medical = quote(load_pack("CA"), [PricedLine(FLOWER, 10000)], DAY, ["medical"])
    assert "ca_state_sales" in summary(plain_medical)[0]


def test_il_excise_by_thc_and_product_type():
    lines = [
        PricedLine(CartLine("flower", 3500, 700), 5000),
        PricedLine(CartLine("concentrate", 1000, 800), 4000),
        PricedLine(CartLine("edible", 50000, 100), 2000),
        PricedLine(CartLine("vape", 1000, None), 3000, thc_percent=Decimal("35")),
    ]
    result = quote(load_pack("IL"), lines, DAY, ["adult_use"], {"municipal_cannabis": 300})
    excise = [
        (str(t.percent), t.base_cents, t.amount_cents)
        for t in result.lines
        if t.tax_id == "il_purchaser_excise"
    ]
    assert excise == [("10", 8000, 800), ("20", 2000, 400), ("25", 4000, 1000)]
    sales = next(t for t in result.lines if t.tax_id == "il_state_sales")
    assert (sales.base_cents, sales.amount_cents) == (14000, 313 + 250 + 125 + 188)
    assert_adds_up(result)


def test_il_excise_needs_potency():
    with pytest.raises(TaxInputError, match="thc_mg or net_weight_mg"):
        quote(load_pack("IL"), [PricedLine(CartLine("flower", 3500), 5000)], DAY, ["adult_use"])


def test_il_medical_pays_one_percent_and_no_excise():
    result = quote(load_pack("IL"), [PricedLine(FLOWER, 5000)], DAY, ["medical"])
    assert summary(result)[0] == {"il_medical_sales": ("1", 5000, 50)}


def test_il_local_cannabis_tax_is_capped():
    with pytest.raises(TaxInputError, match="above the 3"):
        quote(
            load_pack("IL"),
            [PricedLine(FLOWER, 5000)],
            DAY,
            ["adult_use"],
            {"municipal_cannabis": 301},
        )


@pytest.mark.parametrize(("price", "state_tax", "local_tax"), [(1001, 171, 31), (1000, 170, 30)])
def test_or_rounds_up_to_the_cent(price, state_tax, local_tax):
    result = quote(
        load_pack("OR"), [PricedLine(FLOWER, price)], DAY, ["adult_use"], {"local_marijuana": 300}
    )
    assert [t.amount_cents for t in result.lines] == [state_tax, local_tax]


@pytest.mark.parametrize(("day", "tax"), [(date(2027, 12, 31), 0), (date(2028, 1, 1), 170)])
def test_or_medical_exemption_ends_in_2028(day, tax):
    result = quote(load_pack("OR"), [PricedLine(FLOWER, 1000)], day, ["medical"])
    assert result.tax_cents == tax


@pytest.mark.parametrize(
    ("state", "classes", "local", "expected"),
    [
        ("CO", ["adult_use"], {}, {"co_retail_marijuana_sales": 750, "co_state_sales": 29}),
        ("CO", ["medical"], {}, {"co_state_sales": 145 + 29}),
        (
            "MA",
            ["adult_use"],
            {"local_option": 300},
            {"ma_marijuana_excise": 538, "ma_sales": 313 + 63, "ma_local_option": 150},
        ),
        ("MA", ["medical"], {"local_option": 300}, {"ma_sales": 63}),
        ("MI", ["adult_use"], {}, {"mi_marihuana_excise": 500, "mi_sales": 300 + 60}),
        ("MI", ["medical"], {}, {"mi_sales": 300 + 60}),
        ("NV", ["adult_use"], {"sales": 838}, {"nv_retail_excise": 500, "nv_sales": 419 + 84}),
        ("NV", ["medical"], {"sales": 838}, {"nv_sales": 419 + 84}),
        (
            "AZ",
            ["adult_use"],
            {"tpt_local": 250},
            {"az_excise": 800, "az_tpt_state": 280 + 56, "az_tpt_local": 125 + 25},
        ),
        ("AZ", ["medical"], {"tpt_local": 250}, {"az_tpt_state": 280 + 56, "az_tpt_local": 150}),
        (
            "NY",
            ["adult_use"],
            {"sales": 800},
            {"ny_state_retail_excise": 450, "ny_local_retail_excise": 200, "ny_sales": 400 + 80},
        ),
        (
            "OH",
            ["adult_use"],
            {"county_sales": 125},
            {"oh_au_excise": 500, "oh_state_sales": 288 + 58, "oh_local_sales": 63 + 13},
        ),
        ("OH", ["medical"], {}, {"oh_state_sales": 288 + 58}),
    ],
)
def test_each_pack_taxes_cannabis_and_accessories(state, classes, local, expected):
    lines = [PricedLine(FLOWER, 5000), PricedLine(ACCESSORY, 1000)]
    result = quote(load_pack(state), lines, DAY, classes, local)
    assert {t.tax_id: t.amount_cents for t in result.lines} == expected
    assert_adds_up(result)


@pytest.mark.parametrize(
    ("local", "message"),
    [
        ({"city": 100}, "unknown local tax 'city'"),
        ({"gross_receipts": 7.875}, "basis points"),
        ({"gross_receipts": True}, "basis points"),
        ({"gross_receipts": -1}, "basis points"),
    ],
)
def test_bad_local_rates(local, message):
    with pytest.raises(TaxInputError, match=message):
        quote(load_pack("NM"), [PricedLine(FLOWER, 4000)], DAY, ["adult_use"], local)


@pytest.mark.parametrize("price", [40.0, -1, True])
def test_prices_are_whole_non_negative_cents(price):
    with pytest.raises(TaxInputError):
        PricedLine(FLOWER, price)


def test_unknown_buyer_class():
    with pytest.raises(TaxInputError, match="unknown customer class"):
        quote(load_pack("NM"), [PricedLine(FLOWER, 4000)], DAY, ["tourist"])
