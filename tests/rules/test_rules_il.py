"""Illinois pack: cases from 410 ILCS 705/10-10 and 15-85 (purchase limits, non-residents)."""

from datetime import datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
NONRES = {"resident": False}
MED = {"classes": ["medical"]}

CASES = [
    pytest.param(["flower:30g"], {}, True, (), id="S21b-resident-30g-flower-at-cap"),
    pytest.param(["flower:30.001g"], {}, False, ["il_au_flower_sale"], id="S21b-flower-1mg-over"),
    pytest.param(["concentrate:5g"], {}, True, (), id="S21b-resident-5g-concentrate"),
    pytest.param(
        ["concentrate:5.001g"], {}, False, ["il_au_concentrate_sale"], id="S21b-concentrate-over"
    ),
    pytest.param(["edible:100g:500mg"], {}, True, (), id="S21b-resident-500mg-infused"),
    pytest.param(
        ["edible:100g:501mg"], {}, False, ["il_au_infused_sale"], id="S21b-infused-1mg-over"
    ),
    pytest.param(
        ["flower:30g", "concentrate:5g", "edible:50g:300mg", "beverage:355g:200mg"],
        {},
        True,
        (),
        id="S21c-cumulative-separate-buckets-at-caps",
    ),
    pytest.param(["flower:15g"], NONRES, True, (), id="S21b-non-resident-half-flower"),
    pytest.param(
        ["flower:15.001g"], NONRES, False, ["il_au_flower_sale"], id="S21b-non-resident-1mg-over"
    ),
    pytest.param(["concentrate:2.5g"], NONRES, True, (), id="S21b-non-resident-2.5g-concentrate"),
    pytest.param(
        ["concentrate:2.501g"],
        NONRES,
        False,
        ["il_au_concentrate_sale"],
        id="S21b-non-resident-concentrate-1mg-over",
    ),
    pytest.param(
        ["edible:50g:251mg"],
        NONRES,
        False,
        ["il_au_infused_sale"],
        id="S21b-non-resident-250mg-infused-1mg-over",
    ),
    pytest.param(
        ["flower:20.873g"],
        MED | {"history": [(AT - timedelta(days=13), ["flower:50g"])]},
        True,
        (),
        id="S21-medical-2.5oz-per-14-days-at-cap",
    ),
    pytest.param(
        ["flower:20.874g"],
        MED | {"history": [(AT - timedelta(days=13), ["flower:50g"])]},
        False,
        ["il_med_14_days"],
        id="S21-medical-14-days-1mg-over",
    ),
    pytest.param(
        ["flower:70.873g"],
        MED | {"history": [(AT - timedelta(days=14), ["flower:50g"])]},
        True,
        (),
        id="S21-medical-history-14-days-ago-falls-out",
    ),
    pytest.param(["flower:70.873g"], MED | NONRES, True, (), id="S21-medical-cap-not-halved"),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_illinois(run_case, specs, options, ok, breached):
    run_case("IL", specs, options, ok, breached)


def test_non_resident_caps_are_shown_halved(run_case):
    verdict = run_case("IL", ["flower:1g"], NONRES, True)
    caps = {r.id: str(r.cap) for r in verdict.rules}
    assert caps == {
        "il_au_flower_sale": "15.000",
        "il_au_concentrate_sale": "2.500",
        "il_au_infused_sale": "250",
    }
    assert "nonresident" in verdict.classes
