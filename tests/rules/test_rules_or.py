"""Oregon pack: cases from OLCC's consumer FAQ (S26) and the 2022 rule change (S26b)."""

from datetime import date, datetime

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}

CASES = [
    pytest.param(["flower:56.699g"], {}, True, (), id="S26-2oz-usable-at-cap"),
    pytest.param(["flower:56.700g"], {}, False, ["or_au_usable_day"], id="S26-usable-1mg-over"),
    pytest.param(["flower:28.349g"], {"at": date(2021, 6, 1)}, True, (), id="S26b-1oz-in-2021"),
    pytest.param(
        ["flower:28.350g"],
        {"at": date(2021, 6, 1)},
        False,
        ["or_au_usable_day_2021"],
        id="S26b-2021-1mg-over-1oz",
    ),
    pytest.param(["edible:453.592g:100mg"], {}, True, (), id="S26-16oz-solid-at-cap"),
    pytest.param(
        ["edible:453.593g:100mg"], {}, False, ["or_au_solid_day"], id="S26-solid-1mg-over"
    ),
    pytest.param(["beverage:2129292mg:10mg"], {}, True, (), id="S26-72floz-liquid-at-cap"),
    pytest.param(
        ["tincture:2129293mg:10mg"], {}, False, ["or_au_liquid_day"], id="S26-liquid-over"
    ),
    pytest.param(["concentrate:5g"], {}, True, (), id="S26-5g-extract-at-cap"),
    pytest.param(["vape:5.001g"], {}, False, ["or_au_extract_day"], id="S26-extract-1mg-over"),
    pytest.param(["immature_plant:qty=4", "seed:qty=10"], {}, True, (), id="S26-4-plants-10-seeds"),
    pytest.param(
        ["immature_plant:qty=5", "seed:qty=11"],
        {},
        False,
        ["or_au_plants_day", "or_au_seeds_day"],
        id="S26-fifth-plant-eleventh-seed",
    ),
    pytest.param(
        ["flower:6.699g"],
        {"history": [(AT.replace(hour=8), ["flower:50g"])]},
        True,
        (),
        id="S26-within-one-day-across-sales",
    ),
    pytest.param(
        ["flower:6.700g"],
        {"history": [(AT.replace(hour=8), ["flower:50g"])]},
        False,
        ["or_au_usable_day"],
        id="S26-within-one-day-1mg-over",
    ),
    pytest.param(["flower:226.796g"], MED, True, (), id="S26-medical-8oz-per-day"),
    pytest.param(
        ["flower:1g"],
        MED
        | {
            "at": AT.replace(day=20),
            "history": [(AT.replace(day=20 - d), ["flower:226.796g"]) for d in (1, 2, 3, 4)],
        },
        False,
        ["or_med_usable_month"],
        id="S26-medical-32oz-per-month-1g-over",
    ),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_oregon(run_case, specs, options, ok, breached):
    run_case("OR", specs, options, ok, breached)
