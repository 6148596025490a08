"""`flask limits check` and `flask taxes quote`, run through a bare Flask app's CLI runner."""

import json

import pytest
from click.testing import CliRunner
from flask import Flask

from blueprints.manage.cli import limits_cli, taxes_cli


@pytest.fixture
def runner():
    app = Flask(__name__)
    app.cli.add_command(limits_cli)
    app.cli.add_command(taxes_cli)
    return app.test_cli_runner()


def check(runner, *args):
    return runner.invoke(args=["limits", "check", *args])


def test_issue_example_fits_colorados_pool(runner):
    result = check(
        runner,
        "--state",
        "CO",
        "--class",
        "adult_use",
        "--date",
        "2026-07-01",
        "--line",
        "flower:14g",
        "--line",
        "concentrate:2g:1600mg",
        "--line",
        "edible:100g:200mg",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True and data["messages"] == []
    pool, concentrate = data["rules"]
    assert {k: pool[k] for k in ("id", "used", "cap", "unit", "ok", "message")} == {
        "id": "co_au_sale_pool",
        "used": "0.9939",
        "cap": "1.0000",
        "unit": "oz_eq",
        "ok": True,
        "message": None,
    }
    assert (concentrate["id"], concentrate["used"]) == ("co_au_concentrate_day", "2.000")


def test_refused_cart_exits_1(runner):
    result = check(
        runner,
        "--state",
        "CO",
        "--class",
        "adult_use",
        "--line",
        "flower:15g",
        "--line",
        "concentrate:2g",
        "--line",
        "edible:100g:200mg",
    )
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    assert data["messages"] == [data["rules"][0]["message"]]
    assert "over the limit" in data["messages"][0]


def test_allowed_cart_exits_0(runner):
    result = check(runner, "--state", "CO", "--class", "adult_use", "--line", "flower:14g")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] is True and data["rules"][0]["message"] is None


def test_non_resident_halves_illinois(runner):
    base = ["--state", "IL", "--class", "adult_use", "--non-resident"]
    assert check(runner, *base, "--line", "flower:15g").exit_code == 0
    refused = check(runner, *base, "--line", "flower:15.001g")
    assert refused.exit_code == 1
    assert "15.01 of 15 g" in json.loads(refused.output)["messages"][0]


def test_history_file_counts_same_day_concentrate(runner, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [
                {"at": "2026-07-01T09:30:00", "lines": ["concentrate:4g:3000mg"]},
                {
                    "at": "2026-06-30T18:00:00",
                    "lines": [{"category": "concentrate", "net_weight_mg": 8000}],
                },
            ]
        )
    )
    args = ["--state", "CO", "--class", "adult_use", "--date", "2026-07-01"]
    args += ["--history", str(history)]
    assert check(runner, *args, "--line", "concentrate:4g").exit_code == 0
    refused = check(runner, *args, "--line", "concentrate:4.001g")
    assert refused.exit_code == 1
    rule = json.loads(refused.output)["rules"][1]
    assert (rule["id"], rule["earlier"], rule["used"]) == (
        "co_au_concentrate_day",
        "4.000",
        "8.001",
    )


def test_missing_potency_is_a_refusal_naming_the_field(runner):
    result = check(runner, "--state", "NM", "--class", "adult_use", "--line", "edible:100g")
    assert result.exit_code == 1
    [refusal] = json.loads(result.output)["refusals"]
    assert refusal["field"] == "thc_mg"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--state", "ZZ", "--class", "adult_use", "--line", "flower:1g"], "no rule pack for ZZ"),
        (["--state", "CO", "--class", "adult_use", "--line", "gummy:1g"], "unknown limit"),
        (["--state", "CO", "--class", "adult_use", "--line", "flower:1"], "not an amount"),
        (["--state", "CO", "--class", "tourist", "--line", "flower:1g"], "unknown customer class"),
        (["--state", "CO", "--class", "adult_use"], "at least one --line"),
        (
            [
                "--state",
                "CO",
                "--class",
                "adult_use",
                "--date",
                "2026-02-30",
                "--line",
                "flower:1g",
            ],
            "not a date",
        ),
        (["--state", "CO", "--class", "adult_use", "--line", "flower:1g:price=5"], "unexpected"),
        (
            [
                "--state",
                "CO",
                "--class",
                "adult_use",
                "--history",
                "/nonexistent.json",
                "--line",
                "flower:1g",
            ],
            "cannot read",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(runner, args, message):
    result = check(runner, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_bad_history_exits_2(runner, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"at": "yesterday", "lines": ["flower:1g"]}]))
    result = check(
        runner,
        "--state",
        "CO",
        "--class",
        "adult_use",
        "--history",
        str(history),
        "--line",
        "flower:1g",
    )
    assert result.exit_code == 2 and "history item 1" in result.output


def test_taxes_quote_issue_example(runner):
    result = runner.invoke(
        args=[
            "taxes",
            "quote",
            "--state",
            "NM",
            "--class",
            "adult_use",
            "--date",
            "2026-07-01",
            "--line",
            "flower:3.5g:price=40.00",
            "--local",
            "gross_receipts=787.5",
        ]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(t["tax_id"], t["percent"], t["amount_cents"]) for t in data["lines"]] == [
        ("nm_cannabis_excise", "14", 560),
        ("nm_gross_receipts", "7.875", 315),
    ]
    assert (data["tax_cents"], data["total_cents"]) == (875, 4875)


def test_taxes_quote_day_before_uses_the_old_rate(runner):
    result = runner.invoke(
        args=[
            "taxes",
            "quote",
            "--state",
            "NM",
            "--class",
            "adult_use",
            "--date",
            "2026-06-30",
            "--line",
            "flower:3.5g:price=40.00",
        ]
    )
    assert json.loads(result.output)["lines"][0]["amount_cents"] == 520


def test_taxes_quote_store_and_product_flags(runner):
    result = runner.invoke(
        args=[
            "taxes",
            "quote",
            "--state",
            "WA",
            "--class",
            "medical",
            "--date",
            "2026-07-01",
            "--store-flag",
            "medical_endorsement",
            "--line",
            "flower:3.5g:price=13.70:flags=doh_compliant",
        ]
    )
    assert json.loads(result.output)["total_cents"] == 1000


@pytest.mark.parametrize(
    ("line", "extra", "message"),
    [
        ("flower:3.5g", [], "price=DOLLARS"),
        ("flower:3.5g:price=abc", [], "not a number"),
        ("flower:3.5g:price=1.005", [], "whole cents"),
        ("flower:3.5g:price=1.00", ["--local", "city=100"], "unknown local tax"),
        ("flower:3.5g:price=1.00", ["--local", "gross_receipts"], "NAME=BASIS_POINTS"),
        # New Mexico's law caps the location's gross receipts rate (25% was once accepted).
        ("flower:3.5g:price=1.00", ["--local", "gross_receipts=2500"], "above the 10% allowed"),
    ],
)
def test_taxes_quote_bad_input_exits_2(runner, line, extra, message):
    result = runner.invoke(
        args=["taxes", "quote", "--state", "NM", "--class", "adult_use", "--line", line, *extra]
    )
    assert result.exit_code == 2
    assert message in result.output


def test_groups_run_without_a_flask_app():
    result = CliRunner().invoke(
        limits_cli, ["check", "--state", "WA", "--class", "adult_use", "--line", "flower:29g"]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["rules"][0]["id"] == "wa_au_usable_sale"
