"""Arizona pack: cases from A.R.S. 36-2852 as summarised (S25) and 36-2806.02 (medical)."""

from datetime import datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}
TOTAL = "az_au_sale_total"
CONC = "az_au_concentrate_sale"

CASES = [
    pytest.param(["flower:28.349g"], {}, True, (), id="S25-one-ounce-at-cap"),
    pytest.param(["flower:28.350g"], {}, False, [TOTAL], id="S25-one-ounce-1mg-over"),
    pytest.param(["concentrate:5g"], {}, True, (), id="S25-5g-concentrate-sub-cap"),
    pytest.param(["concentrate:5.001g"], {}, False, [CONC], id="S25-sub-cap-1mg-over"),
    pytest.param(
        ["flower:23.349g", "concentrate:5g"], {}, True, (), id="S25-concentrate-inside-1oz"
    ),
    pytest.param(
        ["flower:23.350g", "vape:5g"], {}, False, [TOTAL], id="S25-total-over-sub-cap-kept"
    ),
    pytest.param(
        ["concentrate:4.9g", "edible:100g:100mg"], {}, True, (), id="S25-edible-thc-as-concentrate"
    ),
    pytest.param(
        ["concentrate:4.9g", "edible:100g:101mg"],
        {},
        False,
        [CONC],
        id="S25-edible-thc-1mg-over-sub-cap",
    ),
    pytest.param(
        ["flower:20.873g"],
        MED | {"history": [(AT - timedelta(days=13), ["flower:50g"])]},
        True,
        (),
        id="S25c-medical-2.5oz-per-14-days-at-cap",
    ),
    pytest.param(
        ["flower:20.874g"],
        MED | {"history": [(AT - timedelta(days=13), ["flower:50g"])]},
        False,
        ["az_med_14_days"],
        id="S25c-medical-14-days-1mg-over",
    ),
    pytest.param(
        ["flower:70.873g"],
        MED | {"history": [(AT - timedelta(days=14), ["flower:50g"])]},
        True,
        (),
        id="S25c-medical-history-14-days-ago-falls-out",
    ),
    pytest.param(
        ["flower:5g"],
        MED | {"age": 35, "caregiver_for": "minor-1", "patient_age": 12},
        True,
        (),
        id="S25-minor-patient-through-parent-caregiver",
    ),
    pytest.param(
        ["flower:5g"],
        MED | {"age": 19, "caregiver_for": "patient-2"},
        False,
        (),
        id="S25-caregiver-must-be-21",
    ),
    pytest.param(["flower:5g"], {"age": 20}, False, (), id="S25-adult-use-needs-21"),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_arizona(run_case, specs, options, ok, breached):
    run_case("AZ", specs, options, ok, breached)
