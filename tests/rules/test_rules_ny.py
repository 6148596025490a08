"""New York pack (low confidence): cases from Cannabis Law 85 as summarised (S27, S27d)."""

from datetime import datetime, timedelta

import pytest

from models.rules.cart_lines import CustomerProfile
from models.rules.limits import evaluate
from models.rules.packs import load_pack

AT = datetime(2026, 7, 1, 12, 0)

CASES = [
    pytest.param(["flower:85.048g"], {}, True, (), id="S27-3oz-cannabis-at-cap"),
    pytest.param(
        ["flower:85.049g"], {}, False, ["ny_au_cannabis_sale"], id="S27-cannabis-1mg-over"
    ),
    pytest.param(["concentrate:24g"], {}, True, (), id="S27-24g-concentrated-at-cap"),
    pytest.param(
        ["vape:24.001g"], {}, False, ["ny_au_concentrated_sale"], id="S27-concentrated-over"
    ),
    pytest.param(
        ["concentrate:23g", "edible:100g:1000mg"], {}, True, (), id="S27d-edible-thc-at-cap"
    ),
    pytest.param(
        ["concentrate:23g", "edible:100g:1001mg"],
        {},
        False,
        ["ny_au_concentrated_sale"],
        id="S27d-edible-thc-1mg-over",
    ),
    pytest.param(
        ["flower:85.048g", "concentrate:24g"], {}, True, (), id="S27-separate-buckets-together"
    ),
    pytest.param(
        ["infused_preroll:85.049g"],
        {},
        False,
        ["ny_au_cannabis_sale"],
        id="S27-infused-preroll-counts-as-cannabis",
    ),
    pytest.param(
        ["flower:85.048g"],
        {"history": [(AT - timedelta(hours=1), ["flower:85g"])]},
        True,
        (),
        id="S27-per-sale-history-ignored",
    ),
    pytest.param(["flower:1g"], {"age": 20}, False, (), id="S27-adult-use-needs-21"),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_new_york(run_case, specs, options, ok, breached):
    run_case("NY", specs, options, ok, breached)


def test_medical_is_not_guessed():
    with pytest.raises(ValueError, match="unknown customer class 'medical'"):
        evaluate(load_pack("NY"), CustomerProfile({"medical"}), [], [], AT)
