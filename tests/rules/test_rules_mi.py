"""Michigan pack: cases from R 420.505 and the MMMA 4(c) conversions."""

from datetime import datetime, timedelta

import pytest

AT = datetime(2026, 7, 15, 12, 0)
MED = {"classes": ["medical"]}
POOL = "mi_au_sale_pool"
SUB = "mi_au_concentrate_sale"

CASES = [
    pytest.param(["flower:70.873g"], {"at": AT}, True, (), id="S18-2.5oz-at-cap"),
    pytest.param(["flower:70.874g"], {"at": AT}, False, [POOL], id="S18-2.5oz-1mg-over"),
    pytest.param(["concentrate:15g"], {"at": AT}, True, (), id="S18-15g-concentrate-sub-cap"),
    pytest.param(["concentrate:15.001g"], {"at": AT}, False, [SUB], id="S18-sub-cap-1mg-over"),
    pytest.param(
        ["flower:55.873g", "concentrate:15g"],
        {"at": AT},
        True,
        (),
        id="S18-concentrate-counts-1-to-1-inside-2.5oz",
    ),
    pytest.param(
        ["flower:56g", "concentrate:15g"],
        {"at": AT},
        False,
        [POOL],
        id="S18-sub-cap-kept-but-pool-over",
    ),
    pytest.param(
        ["flower:50g", "vape:16g"], {"at": AT}, False, [SUB], id="S18-sub-cap-over-pool-fine"
    ),
    pytest.param(
        ["edible:453.592g:1000mg", "flower:42.524g"],
        {"at": AT},
        True,
        (),
        id="S19-16oz-solid-equals-1oz",
    ),
    pytest.param(
        ["edible:453.592g:1000mg", "flower:42.525g"],
        {"at": AT},
        False,
        [POOL],
        id="S19-16oz-solid-plus-1.5oz-1mg-over",
    ),
    pytest.param(
        ["beverage:1064.646g:100mg", "flower:42.524g"],
        {"at": AT},
        True,
        (),
        id="S19-36floz-liquid-equals-1oz",
    ),
    pytest.param(
        ["flower:30.873g"],
        MED | {"at": AT, "history": [(AT.replace(hour=9), ["flower:40g"])]},
        True,
        (),
        id="S18-medical-2.5oz-per-day-across-sales",
    ),
    pytest.param(
        ["flower:30.874g"],
        MED | {"at": AT, "history": [(AT.replace(hour=9), ["flower:40g"])]},
        False,
        ["mi_med_day_pool"],
        id="S18-medical-day-1mg-over",
    ),
    pytest.param(
        ["flower:3.495g"],
        MED
        | {
            "at": AT,
            "history": [(AT - timedelta(days=d), ["flower:70g"]) for d in (1, 2, 3, 4)],
        },
        True,
        (),
        id="S18-medical-10oz-per-month-at-cap",
    ),
    pytest.param(
        ["flower:3.496g"],
        MED
        | {
            "at": AT,
            "history": [(AT - timedelta(days=d), ["flower:70g"]) for d in (1, 2, 3, 4)],
        },
        False,
        ["mi_med_month_pool"],
        id="S18-medical-month-1mg-over",
    ),
    pytest.param(
        ["flower:70g"],
        MED
        | {
            "at": AT,
            "history": [(datetime(2026, 6, 30, 18), ["flower:70g"])] * 4,
        },
        True,
        (),
        id="S18-last-months-purchases-do-not-count",
    ),
    pytest.param(
        ["flower:10g"],
        MED | {"at": AT, "age": 20, "caregiver_for": "patient-1"},
        False,
        (),
        id="S18-caregiver-must-be-21",
    ),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_michigan(run_case, specs, options, ok, breached):
    run_case("MI", specs, options, ok, breached)


def test_caregiver_buys_against_patient_allotment(run_case):
    verdict = run_case(
        "MI",
        ["flower:20g"],
        MED
        | {
            "at": AT,
            "age": 40,
            "caregiver_for": "patient-7",
            "history": [(AT.replace(hour=8), ["flower:50g"])],
        },
        True,
    )
    assert verdict.on_behalf_of == "patient-7"
    assert str(verdict.rule("mi_med_day_pool").used) == "70.000"
