"""Colorado pack: cases from R 402(C)(1.5) as quoted, HB21-1317 and C.R.S. 44-10-501."""

from datetime import UTC, datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}
POOL = "co_au_sale_pool"
CONC_DAY = "co_au_concentrate_day"

CASES = [
    pytest.param(["flower:28.349g"], {}, True, (), id="S9-one-ounce-flower-at-cap"),
    pytest.param(["flower:28.350g"], {}, False, [POOL], id="S9-one-ounce-flower-1mg-over"),
    pytest.param(["concentrate:8g"], {}, True, (), id="S9-8g-concentrate-equals-1oz"),
    pytest.param(
        ["concentrate:8.001g"], {}, False, [POOL, CONC_DAY], id="S9-S10-concentrate-1mg-over"
    ),
    pytest.param(["edible:100g:800mg"], {}, True, (), id="S9-800mg-thc-equals-1oz"),
    pytest.param(["edible:100g:801mg"], {}, False, [POOL], id="S9-801mg-thc-over"),
    pytest.param(
        ["flower:14.174g", "concentrate:2g", "edible:50g:200mg"],
        {},
        True,
        (),
        id="S9-half-ounce-plus-2g-plus-200mg-fits",
    ),
    pytest.param(
        ["flower:14.175g", "concentrate:2g", "edible:50g:200mg"],
        {},
        False,
        [POOL],
        id="S9-mixed-cart-1mg-over-half-ounce",
    ),
    pytest.param(["flower:28.349g", "topical:100g:1000mg"], {}, True, (), id="S9-topicals-exempt"),
    pytest.param(
        ["concentrate:4g"],
        {"history": [(AT.replace(hour=9), ["concentrate:4g"])]},
        True,
        (),
        id="S10-8g-concentrate-per-day-across-two-sales",
    ),
    pytest.param(
        ["concentrate:4.001g"],
        {"history": [(AT.replace(hour=9), ["concentrate:4g"])]},
        False,
        [CONC_DAY],
        id="S10-second-sale-same-day-1mg-over",
    ),
    pytest.param(
        ["concentrate:8g"],
        {"history": [(AT - timedelta(days=1), ["concentrate:8g"])]},
        True,
        (),
        id="S10-yesterdays-concentrate-does-not-count",
    ),
    pytest.param(
        ["concentrate:8g"],
        # 05:30 UTC on 1 July is 23:30 on 30 June in Denver: the day before.
        {"history": [(datetime(2026, 7, 1, 5, 30, tzinfo=UTC), ["concentrate:8g"])]},
        True,
        (),
        id="S10-calendar-day-in-store-time-zone-before-midnight",
    ),
    pytest.param(
        ["concentrate:1g"],
        {"history": [(datetime(2026, 7, 1, 6, 30, tzinfo=UTC), ["concentrate:8g"])]},
        False,
        [CONC_DAY],
        id="S10-calendar-day-in-store-time-zone-after-midnight",
    ),
    pytest.param(["flower:56.699g"], MED, True, (), id="S10-medical-2oz-flower-per-day"),
    pytest.param(
        ["flower:56.700g"], MED, False, ["co_med_flower_day"], id="S10-medical-flower-1mg-over"
    ),
    pytest.param(["concentrate:8g"], MED | {"age": 25}, True, (), id="S10-medical-21-plus-8g"),
    pytest.param(["concentrate:2g"], MED | {"age": 19}, True, (), id="S10-medical-18-20-2g"),
    pytest.param(
        ["concentrate:2.001g"],
        MED | {"age": 19},
        False,
        ["co_med_concentrate_day_18_20"],
        id="S10-medical-18-20-1mg-over",
    ),
    pytest.param(["flower:1g"], {"age": 20}, False, (), id="S10-adult-use-needs-21"),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_colorado(run_case, specs, options, ok, breached):
    run_case("CO", specs, options, ok, breached)


def test_pool_meter_and_contributions(run_case):
    verdict = run_case("CO", ["flower:7g", "concentrate:2g", "edible:50g:200mg"], {}, True)
    pool = verdict.rule(POOL)
    assert pool.unit == "oz_eq"
    assert [str(c.amount) for c in pool.contributions] == ["0.2470", "0.2500", "0.2500"]
    assert str(pool.used) == "0.7470" and pool.percent == 74
