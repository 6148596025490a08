"""California pack: cases from 4 CCR 15409 and the DCC guidance on THC in products."""

from datetime import datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}
NONCONC = "ca_au_non_concentrated_day"
CONC = "ca_au_concentrate_day"

CASES = [
    pytest.param(["flower:28.5g"], {}, True, (), id="S13-28.5g-non-concentrated-at-cap"),
    pytest.param(["flower:28.501g"], {}, False, [NONCONC], id="S13-non-concentrated-1mg-over"),
    pytest.param(["concentrate:8g"], {}, True, (), id="S13-8g-concentrate-at-cap"),
    pytest.param(["vape:8.001g"], {}, False, [CONC], id="S13-concentrate-1mg-over"),
    pytest.param(
        ["concentrate:7g", "edible:100g:1000mg"], {}, True, (), id="S17-edible-thc-counts-1g"
    ),
    pytest.param(
        ["concentrate:7g", "edible:100g:1001mg"],
        {},
        False,
        [CONC],
        id="S17-edible-thc-1mg-over-concentrate-cap",
    ),
    pytest.param(
        ["flower:8.5g"],
        {"history": [(AT.replace(hour=10), ["flower:20g"])]},
        True,
        (),
        id="S13-per-day-across-sales-at-cap",
    ),
    pytest.param(
        ["flower:8.501g"],
        {"history": [(AT.replace(hour=10), ["flower:20g"])]},
        False,
        [NONCONC],
        id="S13-per-day-across-sales-1mg-over",
    ),
    pytest.param(
        ["flower:28.5g"],
        {"history": [(AT - timedelta(days=1), ["flower:28.5g"])]},
        True,
        (),
        id="S13-yesterday-does-not-count",
    ),
    pytest.param(["immature_plant:qty=6"], {}, True, (), id="S13-six-immature-plants"),
    pytest.param(
        ["immature_plant:qty=7"], {}, False, ["ca_au_plants_day"], id="S13-seventh-plant-over"
    ),
    pytest.param(
        ["flower:28.5g", "concentrate:8g", "immature_plant:qty=6", "seed:qty=20"],
        {},
        True,
        (),
        id="S13-separate-buckets-combined",
    ),
    pytest.param(["flower:226.796g"], MED, True, (), id="S13-medical-8oz-at-cap"),
    pytest.param(["flower:226.797g"], MED, False, ["ca_med_flower_day"], id="S13-medical-1mg-over"),
    pytest.param(
        ["immature_plant:qty=13"], MED, False, ["ca_med_plants_day"], id="S13-medical-13-plants"
    ),
    pytest.param(["flower:100g"], {"classes": ["mmic"]}, True, (), id="S15-mmic-is-medical"),
    pytest.param(
        ["infused_preroll:1g"], {}, False, (), id="S13-infused-preroll-needs-thc-for-concentrate"
    ),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_california(run_case, specs, options, ok, breached):
    run_case("CA", specs, options, ok, breached)
