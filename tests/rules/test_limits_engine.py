"""The limit engine itself: inputs, refusals, classes, time zones and the JSON shape."""

import json
from datetime import UTC, date, datetime

import pytest

from models.rules.cart_lines import (
    LIMIT_CATEGORIES,
    CartLine,
    CustomerProfile,
    PastPurchase,
    parse_amount_mg,
    parse_line,
)
from models.rules.limits import evaluate
from models.rules.packs import load_pack

AT = datetime(2026, 7, 1, 12, 0)
ADULT = CustomerProfile({"adult_use"})


def test_vocabulary_is_the_issue_list():
    assert LIMIT_CATEGORIES == (
        "flower",
        "preroll",
        "infused_preroll",
        "concentrate",
        "vape",
        "edible",
        "beverage",
        "tincture",
        "topical",
        "immature_plant",
        "seed",
    )


def test_missing_potency_refuses_the_line_and_names_the_field():
    lines = [CartLine("flower", 3500), CartLine("edible", 100000, None, label="Mystery gummies")]
    verdict = evaluate(load_pack("NM"), ADULT, lines, [], AT)
    assert not verdict.ok
    [refusal] = verdict.refusals
    assert (refusal.kind, refusal.line, refusal.field) == ("missing_field", 1, "thc_mg")
    assert "Mystery gummies" in refusal.message and "thc_mg" in refusal.message
    assert verdict.rule("nm_au_edible_sale").used == 0


def test_missing_weight_refuses_flower():
    verdict = evaluate(load_pack("CO"), ADULT, [CartLine("flower", None, 200)], [], AT)
    assert [(r.field, r.line) for r in verdict.refusals] == [("net_weight_mg", 0)]
    zero = evaluate(load_pack("CO"), ADULT, [CartLine("flower", 0, 200)], [], AT)
    assert [r.field for r in zero.refusals] == ["net_weight_mg"]


def test_field_only_needed_where_a_rule_counts_it():
    # Colorado exempts topicals, so a topical without THC is fine there.
    verdict = evaluate(load_pack("CO"), ADULT, [CartLine("topical", 50000, None)], [], AT)
    assert verdict.ok and not verdict.refusals


def test_accessories_are_not_limited():
    lines = [CartLine(None, None, None, 3), CartLine("none")]
    verdict = evaluate(load_pack("CO"), ADULT, lines, [], AT)
    assert verdict.ok
    assert all(not r.contributions for r in verdict.rules)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"category": "gummy"},
        {"category": "flower", "net_weight_mg": -1},
        {"category": "flower", "net_weight_mg": 3.5},
        {"category": "flower", "thc_mg": True},
        {"category": "flower", "quantity": 0},
    ],
)
def test_cart_line_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        CartLine(**kwargs)


def test_unknown_or_derived_class_is_an_error():
    with pytest.raises(ValueError, match="unknown customer class"):
        evaluate(load_pack("CO"), CustomerProfile({"tourist"}), [], [], AT)
    with pytest.raises(ValueError, match="derived"):
        evaluate(load_pack("IL"), CustomerProfile({"nonresident"}), [], [], AT)


@pytest.mark.parametrize(("born", "ok"), [(date(2005, 7, 2), False), (date(2005, 7, 1), True)])
def test_age_from_date_of_birth_on_the_sale_day(born, ok):
    profile = CustomerProfile({"adult_use"}, date_of_birth=born)
    verdict = evaluate(load_pack("CO"), profile, [CartLine("flower", 1000)], [], AT)
    assert verdict.ok is ok
    if not ok:
        assert verdict.refusals[0].kind == "age"


def test_aware_sale_time_uses_the_store_zone():
    # 05:00 UTC on 2 July is still 1 July in Denver, so the morning's concentrate counts.
    history = [PastPurchase(datetime(2026, 7, 1, 9), (CartLine("concentrate", 8000),))]
    at = datetime(2026, 7, 2, 5, 0, tzinfo=UTC)
    verdict = evaluate(load_pack("CO"), ADULT, [CartLine("concentrate", 1)], history, at)
    assert verdict.day == date(2026, 7, 1)
    assert not verdict.rule("co_au_concentrate_day").ok


def test_store_zone_can_differ_from_the_pack_default():
    history = [PastPurchase(datetime(2026, 7, 1, 23, 30, tzinfo=UTC), (CartLine("flower", 20000),))]
    at = datetime(2026, 7, 2, 1, 0, tzinfo=UTC)
    pack = load_pack("CA")
    la = evaluate(pack, ADULT, [CartLine("flower", 8500)], history, at)
    assert la.rule("ca_au_non_concentrated_day").earlier == 20
    utc = evaluate(pack, ADULT, [CartLine("flower", 8500)], history, at, tz="UTC")
    assert utc.rule("ca_au_non_concentrated_day").earlier == 0


def test_history_bought_under_another_class_does_not_count():
    history = [
        PastPurchase(AT.replace(hour=9), (CartLine("concentrate", 8000),), classes={"medical"})
    ]
    verdict = evaluate(load_pack("CO"), ADULT, [CartLine("concentrate", 8000)], history, AT)
    assert verdict.ok
    verdict = evaluate(
        load_pack("CO"), CustomerProfile({"medical"}), [CartLine("concentrate", 1)], history, AT
    )
    assert not verdict.ok


def test_future_history_is_ignored():
    history = [PastPurchase(datetime(2026, 7, 2, 9), (CartLine("concentrate", 8000),))]
    verdict = evaluate(load_pack("CO"), ADULT, [CartLine("concentrate", 8000)], history, AT)
    assert verdict.ok


def test_history_line_without_measure_warns():
    history = [PastPurchase(AT.replace(hour=9), (CartLine("edible", 50000, None),))]
    profile = CustomerProfile({"medical"})
    verdict = evaluate(load_pack("NM"), profile, [CartLine("flower", 1000)], history, AT)
    assert verdict.ok
    assert any("edible" in w and "zero" in w for w in verdict.warnings)


def test_rules_follow_their_effective_dates():
    before = evaluate(load_pack("NM"), ADULT, [CartLine("flower", 1000)], [], date(2022, 3, 31))
    assert before.rules == () and before.ok


def test_caregiver_18_20_rule_follows_the_patient():
    pack = load_pack("CO")
    line = [CartLine("concentrate", 5000)]
    adult_patient = CustomerProfile({"medical"}, age=40, caregiver_for="p1", patient_age=30)
    young_patient = CustomerProfile({"medical"}, age=40, caregiver_for="p2", patient_age=19)
    assert evaluate(pack, adult_patient, line, [], AT).ok
    assert not evaluate(pack, young_patient, line, [], AT).ok


def test_verdict_to_dict_is_json_ready():
    lines = [CartLine("flower", 30000, label="Blue Dream 30 g")]
    verdict = evaluate(load_pack("CO"), ADULT, lines, [], AT)
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["ok"] is False and data["state"] == "CO" and data["day"] == "2026-07-01"
    pool = data["rules"][0]
    assert {"id", "label", "used", "cap", "unit", "ok", "message", "contributions"} <= set(pool)
    assert pool["used"] == "1.0583" and pool["cap"] == "1.0000" and pool["percent"] == 105
    assert pool["contributions"] == [{"line": 0, "label": "Blue Dream 30 g", "amount": "1.0583"}]
    assert data["messages"] == [pool["message"]]
    assert "0.06 oz over the limit" in pool["message"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("flower:14g", CartLine("flower", 14000)),
        ("concentrate:2g:1600mg", CartLine("concentrate", 2000, 1600)),
        ("edible:100g:200mg", CartLine("edible", 100000, 200)),
        ("beverage:355ml:5mg:qty=6", CartLine("beverage", 355000, 5, 6)),
        ("immature_plant:qty=3", CartLine("immature_plant", None, None, 3)),
        ("accessory", CartLine(None)),
        ("flower:1oz", None),
        ("flower:3.5", None),
        ("gummy:10g", None),
        ("flower:1g:2mg:3mg", None),
        ("flower:qty=x", None),
    ],
)
def test_parse_line(spec, expected):
    if expected is None:
        with pytest.raises(ValueError):
            parse_line(spec)
    else:
        assert parse_line(spec) == (expected, {})


def test_parse_line_keeps_other_options_and_amounts_are_exact():
    line, options = parse_line("flower:3.5g:price=40.00:label=House")
    assert line == CartLine("flower", 3500, label="House") and options == {"price": "40.00"}
    assert parse_amount_mg("2oz") == 56699
    assert parse_amount_mg("0.5kg") == 500000
