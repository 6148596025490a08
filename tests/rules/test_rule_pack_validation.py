"""Pack loading and validation: shipped packs are sound, bad packs fail with clear messages."""

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from models.rules.cart_lines import LIMIT_CATEGORIES
from models.rules.pack_rules import RulePackError
from models.rules.packs import (
    RULES_DIR,
    available_states,
    load_pack,
    load_pack_file,
    parse_pack,
)

STATES = ["AZ", "CA", "CO", "IL", "MA", "MI", "NM", "NV", "NY", "OH", "OR", "WA"]
FILE = "rules/zz.yaml"


def test_every_state_has_a_pack():
    assert available_states() == STATES


@pytest.mark.parametrize("state", STATES)
def test_shipped_pack_is_complete(state):
    pack = load_pack(state)
    assert pack.state == state and pack.path == f"rules/{state.lower()}.yaml"
    assert pack.limits and pack.taxes
    for rule in [*pack.limits, *pack.taxes]:
        assert rule.sources and all(url.startswith("https://") for url in rule.sources)
        assert rule.confidence in ("H", "M", "L")
    for rule in pack.limits:
        assert rule.effective_from is not None


def test_low_confidence_packs_say_so():
    assert load_pack("NY").confidence == "L" and load_pack("OH").confidence == "L"


def test_load_pack_is_cached_and_case_insensitive():
    assert load_pack("co") is load_pack("CO")


@pytest.mark.parametrize("state", ["ZZ", "colorado", ""])
def test_unknown_state(state):
    with pytest.raises(RulePackError):
        load_pack(state)


def minimal() -> dict:
    """Build the smallest valid pack, as YAML would give it."""
    categories = {name: {"limited": False} for name in LIMIT_CATEGORIES}
    categories["flower"] = {"limited": True}
    categories["concentrate"] = {"limited": True}
    return {
        "schema_version": 1,
        "state": "ZZ",
        "name": "Test",
        "timezone": "America/Denver",
        "confidence": "M",
        "effective": {"from": "2024-01-01"},
        "sources": {"S1": "https://example.org/rule"},
        "customer_classes": {"adult_use": {"min_age": 21}},
        "categories": categories,
        "limits": [
            {
                "id": "zz_pool",
                "label": "Pool",
                "source": "S1",
                "confidence": "H",
                "effective": {"from": "2024-01-01"},
                "applies_to": ["adult_use"],
                "window": {"type": "transaction"},
                "kind": "pool",
                "unit": "oz_eq",
                "cap": 1,
                "terms": [
                    {"categories": ["flower"], "measure": "weight", "divisor": "1 oz"},
                    {"categories": ["concentrate"], "measure": "weight", "divisor": "8 g"},
                ],
            }
        ],
        "taxes": [
            {
                "id": "zz_excise",
                "name": "Excise",
                "source": "S1",
                "confidence": "H",
                "rate_schedule": [{"from": "2024-01-01", "percent": Decimal("15")}],
            }
        ],
    }


def test_minimal_pack_is_valid():
    pack = parse_pack(minimal(), FILE)
    assert [r.id for r in pack.limits] == ["zz_pool"]


def _limit(data):
    return data["limits"][0]


def _tax(data):
    return data["taxes"][0]


BAD = [
    (
        "unknown category",
        lambda d: _limit(d)["terms"][0].update(categories=["flour"]),
        "limit 'zz_pool' term 1: unknown category 'flour'",
    ),
    (
        "missing divisor",
        lambda d: _limit(d)["terms"][1].pop("divisor"),
        "limit 'zz_pool' term 2: pool terms need a divisor",
    ),
    (
        "bad date",
        lambda d: _limit(d)["effective"].update({"from": "2026-13-01"}),
        "limit 'zz_pool': effective.from: '2026-13-01' is not a date",
    ),
    (
        "dates reversed",
        lambda d: _limit(d)["effective"].update(to="2023-01-01"),
        "limit 'zz_pool': effective.to (2023-01-01) is before effective.from",
    ),
    (
        "unknown window",
        lambda d: _limit(d).update(window={"type": "weekly"}),
        "limit 'zz_pool': window type 'weekly'",
    ),
    (
        "rolling without days",
        lambda d: _limit(d).update(window={"type": "rolling_days"}),
        "limit 'zz_pool': a rolling_days window needs days",
    ),
    (
        "unknown class",
        lambda d: _limit(d).update(applies_to=["tourist"]),
        "limit 'zz_pool': applies_to: unknown class 'tourist'",
    ),
    (
        "typo in a field",
        lambda d: _limit(d)["terms"][0].update(divsor="1 g"),
        "limit 'zz_pool' term 1: unknown field(s) divsor",
    ),
    (
        "bucket measure vs unit",
        lambda d: _limit(d).update(
            kind="bucket", unit="fl_oz", terms=[{"categories": ["flower"], "measure": "weight"}]
        ),
        "limit 'zz_pool' term 1: measure weight (mass) cannot be counted in fl_oz",
    ),
    (
        "divisor dimension",
        lambda d: _limit(d)["terms"][0].update(divisor="3 fl_oz"),
        "limit 'zz_pool' term 1: divisor is a volume but measure weight is mass",
    ),
    (
        "category counted twice",
        lambda d: _limit(d)["terms"][1].update(categories=["flower"]),
        "limit 'zz_pool' term 2: category 'flower' is already counted",
    ),
    (
        "source not a url",
        lambda d: _limit(d).update(source="my notes"),
        "limit 'zz_pool': source must be a URL or a source id",
    ),
    (
        "bad confidence",
        lambda d: _limit(d).update(confidence="high"),
        "limit 'zz_pool': confidence must be H, M or L",
    ),
    (
        "duplicate id",
        lambda d: d["limits"].append(copy.deepcopy(_limit(d))),
        "limit 'zz_pool': duplicate id",
    ),
    (
        "limited but unused",
        lambda d: d["categories"].update(edible={"limited": True}),
        "category 'edible': marked limited but no limit rule counts it",
    ),
    (
        "exempt but counted",
        lambda d: d["categories"].update(concentrate={"limited": False}),
        "limit 'zz_pool' term 2: category 'concentrate' is marked limited: false",
    ),
    ("category missing", lambda d: d["categories"].pop("seed"), "categories: 'seed' is missing"),
    (
        "tax periods overlap",
        lambda d: _tax(d)["rate_schedule"].append({"from": "2025-01-01", "percent": 16}),
        "tax 'zz_excise': rate periods overlap",
    ),
    (
        "tax percent",
        lambda d: _tax(d)["rate_schedule"][0].update(percent=150),
        "tax 'zz_excise' rate 1: percent 150 is not between 0 and 100",
    ),
    (
        "tax base order",
        lambda d: _tax(d).update(base_includes=["zz_sales"]),
        "tax 'zz_excise': base_includes 'zz_sales' must name a tax listed above it",
    ),
    (
        "tax rate and local",
        lambda d: _tax(d).update(local_rate="city"),
        "tax 'zz_excise': give exactly one of rate_schedule",
    ),
    (
        "tax rounding",
        lambda d: _tax(d).update(rounding="banker"),
        "tax 'zz_excise': rounding must be one of",
    ),
    (
        "exemptions not a list",
        lambda d: _tax(d).update(exempt={"classes": ["adult_use"]}),
        "tax 'zz_excise': expected a list",
    ),
    (
        "missing fields listed together",
        lambda d: (_limit(d).pop("cap"), _limit(d).pop("unit")),
        "limit 'zz_pool': missing cap, unit",
    ),
    (
        "window field typo",
        lambda d: _limit(d).update(window={"type": "transaction", "dayz": 3}),
        "limit 'zz_pool' window: unknown field(s) dayz",
    ),
    (
        "class cycle",
        lambda d: d["customer_classes"].update(a={"extends": "b"}, b={"extends": "a"}),
        "class 'a': extends forms a cycle",
    ),
    (
        "bad constant",
        lambda d: d.update(constants={"g_per_oz": "28"}),
        "constants: g_per_oz must be a number, not '28'",
    ),
    ("time zone", lambda d: d.update(timezone="Mars/Olympus"), "pack: unknown time zone"),
    ("state mismatch", lambda d: d.update(state="CO"), "does not match the file name"),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=i) for i, c, m in BAD])
def test_bad_pack_names_file_and_rule(change, message):
    data = minimal()
    change(data)
    with pytest.raises(RulePackError) as info:
        parse_pack(data, FILE, expected_state="ZZ")
    assert str(info.value).startswith(f"{FILE}: ")
    assert message in str(info.value)


def test_bad_date_in_a_yaml_file(tmp_path: Path):
    text = (RULES_DIR / "co.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "effective: {from: 2022-01-01}\n    applies_to: [medical_18_20]",
        "effective: {from: 2022-02-30}\n    applies_to: [medical_18_20]",
    )
    path = tmp_path / "co.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError, match=r"co\.yaml: limit 'co_med_concentrate_day_18_20'"):
        load_pack_file(path)


def test_invalid_yaml(tmp_path: Path):
    path = tmp_path / "zz.yaml"
    path.write_text("limits: [unclosed", encoding="utf-8")
    with pytest.raises(RulePackError, match="not valid YAML"):
        load_pack_file(path)


def test_yaml_numbers_become_decimals(tmp_path: Path):
    pack = load_pack("CA")
    sales = next(t for t in pack.taxes if t.id == "ca_state_sales")
    assert sales.schedule[0].percent == Decimal("7.25")
    assert isinstance(sales.schedule[0].percent, Decimal)


def _address(url: str, **extra) -> dict:
    return {"system": "metrc", "kind": "production", "url": url, "source": "S1", **extra}


def test_known_state_system_hosts_are_read_with_their_sources():
    data = minimal()
    data["tracktrace"] = [
        _address("https://api-zz.metrc.com"),
        _address("https://legacy.zz.example/serverjson.asp", system="biotrack", label="Legacy"),
    ]
    pack = parse_pack(data, FILE)
    assert [(a.system, a.url, a.label) for a in pack.addresses] == [
        ("metrc", "https://api-zz.metrc.com", "Metrc production"),
        ("biotrack", "https://legacy.zz.example/serverjson.asp", "Legacy"),
    ]
    assert pack.addresses[0].sources == ("https://example.org/rule",)


@pytest.mark.parametrize(
    "url",
    [
        "http://api-zz.metrc.com",
        "https://api-zz.metrc.com/",
        "https://api-zz.metrc.com:8443",
        "https://user@api-zz.metrc.com",
        "https://api-zz.metrc.com?x=1",
        "https://127.0.0.1",
        "https://localhost",
        "https://API-ZZ.metrc.com",
    ],
)
def test_a_known_host_is_https_and_a_plain_host_name(url):
    data = minimal()
    data["tracktrace"] = [_address(url)]
    with pytest.raises(RulePackError, match="must be https:// and a host name"):
        parse_pack(data, FILE)


def test_every_shipped_known_host_is_https_with_a_source():
    for state in STATES:
        for address in load_pack(state).addresses:
            assert address.url.startswith("https://") and address.sources
    assert [a.url for a in load_pack("CO").addresses] == [
        "https://api-co.metrc.com",
        "https://sandbox-api-co.metrc.com",
    ]


@pytest.mark.parametrize("state", STATES)
def test_every_local_tax_states_its_cap_with_a_source(state):
    for tax in load_pack(state).taxes:
        if tax.local_rate:
            assert tax.max_percent is not None and 0 < tax.max_percent < 100, tax.id
            assert tax.max_sources and all(u.startswith("https://") for u in tax.max_sources)


def _local(data: dict, **fields) -> dict:
    tax = {"id": "zz_local", "name": "Local", "source": "S1", "confidence": "M",
           "local_rate": "city", **fields}  # fmt: skip
    data["taxes"].append(tax)
    return tax


def test_a_local_tax_without_a_cap_is_refused():
    data = minimal()
    _local(data)
    with pytest.raises(RulePackError, match="a local_rate needs max_percent"):
        parse_pack(data, FILE)


def test_a_cap_without_its_source_is_refused():
    data = minimal()
    _local(data, max_percent=Decimal("3"))
    with pytest.raises(RulePackError, match="max_percent needs max_source"):
        parse_pack(data, FILE)
    data = minimal()
    _local(data, max_percent=Decimal("3"), max_source="S1")
    [tax] = [t for t in parse_pack(data, FILE).taxes if t.local_rate]
    assert (tax.max_percent, tax.max_sources) == (Decimal("3"), ("https://example.org/rule",))
