"""Nevada pack: cases from the CCB exchange chart (S8) and NRS 678C/678D as summarised (S24b)."""

from datetime import date, datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}
POOL = "nv_au_sale_pool"

CASES = [
    pytest.param(["flower:70.87g"], {}, True, (), id="S24b-2.5oz-usable-at-cap"),
    pytest.param(["flower:70.871g"], {}, False, [POOL], id="S24b-usable-1mg-over"),
    pytest.param(["concentrate:7.087g"], {}, True, (), id="S24b-quarter-ounce-concentrate"),
    pytest.param(["concentrate:7.088g"], {}, False, [POOL], id="S24b-concentrate-1mg-over"),
    pytest.param(["edible:100g:7087mg"], {}, True, (), id="S8-7087mg-thc-at-cap"),
    pytest.param(["edible:100g:7088mg"], {}, False, [POOL], id="S8-thc-1mg-over"),
    pytest.param(
        ["flower:3.54g", "edible:100g:6733mg"], {}, True, (), id="S8-chart-3.54g-leaves-6733mg"
    ),
    pytest.param(["flower:3.54g", "edible:100g:6734mg"], {}, False, [POOL], id="S8-chart-1mg-over"),
    pytest.param(
        ["flower:35.435g", "vape:3.543g"], {}, True, (), id="S8-half-flower-half-concentrate"
    ),
    pytest.param(
        ["flower:28.35g"], {"at": date(2023, 12, 31)}, True, (), id="S8-old-1oz-limit-2023"
    ),
    pytest.param(
        ["flower:28.351g"],
        {"at": date(2023, 12, 31)},
        False,
        ["nv_au_sale_pool_2023"],
        id="S8-old-limit-1mg-over-on-2023-12-31",
    ),
    pytest.param(
        ["flower:10.87g"],
        MED | {"history": [(AT - timedelta(days=13), ["flower:60g"])]},
        True,
        (),
        id="S24b-medical-2.5oz-per-14-days-at-cap",
    ),
    pytest.param(
        ["flower:10.871g"],
        MED | {"history": [(AT - timedelta(days=13), ["flower:60g"])]},
        False,
        ["nv_med_14_days"],
        id="S24b-medical-14-days-1mg-over",
    ),
    pytest.param(
        ["flower:70.87g"],
        MED | {"history": [(AT - timedelta(days=14), ["flower:60g"])]},
        True,
        (),
        id="S24b-medical-history-14-days-ago-falls-out",
    ),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_nevada(run_case, specs, options, ok, breached):
    run_case("NV", specs, options, ok, breached)
