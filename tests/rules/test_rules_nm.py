"""New Mexico pack: cases from the statute, regulator and the sources in rules/nm.yaml."""

from datetime import datetime, timedelta

import pytest

AT = datetime(2026, 7, 1, 12, 0)
MED = {"classes": ["medical"]}

CASES = [
    pytest.param(["flower:56.699g"], {}, True, (), id="S3-flower-2oz-at-cap"),
    pytest.param(["flower:56.700g"], {}, False, ["nm_au_flower_sale"], id="S3-flower-1mg-over"),
    pytest.param(["concentrate:16g"], {}, True, (), id="S3-extract-16g-at-cap"),
    pytest.param(
        ["vape:8g", "concentrate:8.001g"],
        {},
        False,
        ["nm_au_extract_sale"],
        id="S3-extract-1mg-over",
    ),
    pytest.param(["edible:200g:800mg"], {}, True, (), id="S3-edible-800mg-at-cap"),
    pytest.param(["edible:200g:801mg"], {}, False, ["nm_au_edible_sale"], id="S3-edible-1mg-over"),
    pytest.param(
        ["flower:56.699g", "concentrate:16g", "edible:200g:800mg", "topical:50g:500mg"],
        {},
        True,
        (),
        id="S3-separate-buckets-all-at-cap",
    ),
    pytest.param(
        ["flower:56.699g"],
        {"history": [(AT - timedelta(hours=2), ["flower:56.699g"])]},
        True,
        (),
        id="S3-no-cap-on-number-of-sales",
    ),
    pytest.param(["flower:230g"], MED, True, (), id="S5-medical-230-units-at-cap"),
    pytest.param(
        ["flower:230.001g"], MED, False, ["nm_med_units_90_days"], id="S5-medical-1mg-over"
    ),
    pytest.param(
        ["flower:30g"],
        MED | {"history": [(AT - timedelta(days=89), ["flower:200g"])]},
        True,
        (),
        id="S5-rolling-90-days-history-89-days-ago-counts-to-cap",
    ),
    pytest.param(
        ["flower:30.001g"],
        MED | {"history": [(AT - timedelta(days=89), ["flower:200g"])]},
        False,
        ["nm_med_units_90_days"],
        id="S5-rolling-90-days-history-in-window-1mg-over",
    ),
    pytest.param(
        ["flower:230g"],
        MED | {"history": [(AT - timedelta(days=90), ["flower:200g"])]},
        True,
        (),
        id="S5-rolling-90-days-history-90-days-ago-falls-out",
    ),
    pytest.param(
        ["concentrate:0.5g:300mg"],
        MED | {"history": [(AT - timedelta(days=3), ["flower:228.5g"])]},
        True,
        (),
        id="S5b-half-gram-60pct-concentrate-is-1.5-units",
    ),
    pytest.param(
        ["concentrate:0.5g:301mg"],
        MED | {"history": [(AT - timedelta(days=3), ["flower:228.5g"])]},
        False,
        ["nm_med_units_90_days"],
        id="S5b-concentrate-units-by-thc-1mg-over",
    ),
    pytest.param(["flower:1g"], MED | {"age": 17}, False, (), id="S4-medical-needs-18"),
    pytest.param(["flower:1g"], {"age": 20}, False, (), id="S4-adult-use-needs-21"),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_new_mexico(run_case, specs, options, ok, breached):
    run_case("NM", specs, options, ok, breached)


def test_medical_units_meter_shows_units(run_case):
    verdict = run_case("NM", ["concentrate:0.5g:300mg", "flower:3.5g"], MED, True, ())
    rule = verdict.rule("nm_med_units_90_days")
    assert (str(rule.used), str(rule.cap), rule.unit) == ("5.00", "230.00", "units")
    assert [str(c.amount) for c in rule.contributions] == ["1.50", "3.50"]
