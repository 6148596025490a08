"""Ohio pack (low confidence): cases from DCC guidance (S28) and OAC 3796:8-2-04 (S28b, S28c)."""

from datetime import datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}
POOL = "oh_au_day_pool"
FILL = "oh_med_fill_period"

CASES = [
    pytest.param(["flower:70.873g"], {}, True, (), id="S28-2.5oz-flower-per-day"),
    pytest.param(["flower:70.874g"], {}, False, [POOL], id="S28-flower-1mg-over"),
    pytest.param(["edible:100g:15000mg"], {}, True, (), id="S28-15000mg-thc-per-day"),
    pytest.param(["vape:1g:15001mg"], {}, False, [POOL], id="S28-thc-1mg-over"),
    pytest.param(
        ["flower:35.436g", "edible:50g:7500mg"], {}, True, (), id="S28-half-and-half-fits"
    ),
    pytest.param(
        ["flower:35.437g", "edible:50g:7500mg"],
        {},
        False,
        [POOL],
        id="S28-both-maxima-cannot-be-combined",
    ),
    pytest.param(
        ["flower:0.873g"],
        {"history": [(AT.replace(hour=9), ["flower:70g"])]},
        True,
        (),
        id="S28-per-day-across-sales-at-cap",
    ),
    pytest.param(
        ["flower:0.874g"],
        {"history": [(AT.replace(hour=9), ["flower:70g"])]},
        False,
        [POOL],
        id="S28-per-day-across-sales-1mg-over",
    ),
    pytest.param(["flower:127.35g"], MED, True, (), id="S28b-45-day-units-of-2.83g"),
    pytest.param(["flower:127.351g"], MED, False, [FILL], id="S28b-day-units-1mg-over"),
    pytest.param(
        ["edible:10g:110mg"],
        MED | {"history": [(AT - timedelta(days=30), ["flower:124.52g"])]},
        True,
        (),
        id="S28c-110mg-oral-is-one-day",
    ),
    pytest.param(
        ["edible:10g:111mg"],
        MED | {"history": [(AT - timedelta(days=30), ["flower:124.52g"])]},
        False,
        [FILL],
        id="S28c-oral-1mg-over",
    ),
    pytest.param(
        ["flower:127.35g"],
        MED | {"history": [(AT - timedelta(days=45), ["flower:124.52g"])]},
        True,
        (),
        id="S28c-fill-period-history-45-days-ago-falls-out",
    ),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_ohio(run_case, specs, options, ok, breached):
    run_case("OH", specs, options, ok, breached)
