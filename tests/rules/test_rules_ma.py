"""Massachusetts pack: cases from 935 CMR 500.140 (1 oz or dry-weight equivalent per day)."""

from datetime import datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}
POOL = "ma_au_day_pool"

CASES = [
    pytest.param(["flower:28.349g"], {}, True, (), id="S22-one-ounce-at-cap"),
    pytest.param(["flower:28.350g"], {}, False, [POOL], id="S22-one-ounce-1mg-over"),
    pytest.param(
        ["concentrate:10g:5000mg"], {}, True, (), id="S22-5g-active-thc-not-product-weight"
    ),
    pytest.param(["concentrate:10g:5001mg"], {}, False, [POOL], id="S22-active-thc-1mg-over"),
    pytest.param(["tincture:30g:5000mg"], {}, True, (), id="S22-tinctures-count-as-concentrate"),
    pytest.param(["edible:100g:500mg"], {}, True, (), id="S22-500mg-edible-thc-at-cap"),
    pytest.param(["edible:100g:501mg"], {}, False, [POOL], id="S22-edible-1mg-over"),
    pytest.param(
        ["flower:14.174g", "edible:50g:250mg"], {}, True, (), id="S22-half-ounce-plus-250mg"
    ),
    pytest.param(
        ["flower:14.175g", "edible:50g:250mg"], {}, False, [POOL], id="S22-mixed-1mg-over"
    ),
    pytest.param(
        ["flower:14.349g"],
        {"history": [(AT.replace(hour=9), ["flower:14g"])]},
        True,
        (),
        id="S22-per-day-across-sales-at-cap",
    ),
    pytest.param(
        ["flower:14.350g"],
        {"history": [(AT.replace(hour=9), ["flower:14g"])]},
        False,
        [POOL],
        id="S22-per-day-across-sales-1mg-over",
    ),
    pytest.param(["flower:28.349g", "topical:100g:2000mg"], {}, True, (), id="S22-topicals-exempt"),
    pytest.param(
        ["flower:83.495g"],
        MED | {"history": [(AT - timedelta(days=59), ["flower:200g"])]},
        True,
        (),
        id="S22-medical-10oz-per-60-days-at-cap",
    ),
    pytest.param(
        ["flower:83.496g"],
        MED | {"history": [(AT - timedelta(days=59), ["flower:200g"])]},
        False,
        ["ma_med_60_days"],
        id="S22-medical-60-days-1mg-over",
    ),
    pytest.param(
        ["flower:283.495g"],
        MED | {"history": [(AT - timedelta(days=60), ["flower:200g"])]},
        True,
        (),
        id="S22-medical-history-60-days-ago-falls-out",
    ),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_massachusetts(run_case, specs, options, ok, breached):
    run_case("MA", specs, options, ok, breached)
