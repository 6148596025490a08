"""Washington pack: cases from RCW 69.50.360 and RCW 69.51A.210 (per sale, any combination)."""

import pytest

MED = {"classes": ["medical"]}

CASES = [
    pytest.param(["flower:28.349g"], {}, True, (), id="S23-one-ounce-usable-at-cap"),
    pytest.param(["preroll:28.350g"], {}, False, ["wa_au_usable_sale"], id="S23-usable-1mg-over"),
    pytest.param(["edible:453.592g:100mg"], {}, True, (), id="S23-16oz-solid-at-cap"),
    pytest.param(
        ["edible:453.593g:100mg"], {}, False, ["wa_au_solid_sale"], id="S23-solid-1mg-over"
    ),
    pytest.param(["beverage:2129292mg:100mg"], {}, True, (), id="S23-72floz-liquid-at-cap"),
    pytest.param(
        ["beverage:2129293mg:100mg"], {}, False, ["wa_au_liquid_sale"], id="S23-liquid-over"
    ),
    pytest.param(["beverage:355ml:4mg:qty=50"], {}, True, (), id="S23-low-dose-liquids-200mg-thc"),
    pytest.param(
        ["beverage:355ml:4mg:qty=51"],
        {},
        False,
        ["wa_au_low_thc_liquid_sale"],
        id="S23-low-dose-liquids-over-200mg",
    ),
    pytest.param(["concentrate:7g"], {}, True, (), id="S23-7g-concentrate-at-cap"),
    pytest.param(
        ["concentrate:6g", "infused_preroll:1.001g"],
        {},
        False,
        ["wa_au_concentrate_sale"],
        id="S23-infused-preroll-counts-as-concentrate",
    ),
    pytest.param(
        ["flower:28.349g", "edible:453.592g:100mg", "tincture:2129.292g:300mg", "vape:7g"],
        {},
        True,
        (),
        id="S23-any-combination-all-at-caps",
    ),
    pytest.param(["flower:85.048g", "concentrate:21g"], MED, True, (), id="S23b-medical-3oz-21g"),
    pytest.param(
        ["flower:85.049g"], MED, False, ["wa_med_usable_sale"], id="S23b-medical-usable-over"
    ),
    pytest.param(["beverage:355ml"], {}, False, (), id="S23-beverage-needs-thc-to-pick-its-cap"),
]


@pytest.mark.parametrize(("specs", "options", "ok", "breached"), CASES)
def test_washington(run_case, specs, options, ok, breached):
    run_case("WA", specs, options, ok, breached)


def test_liquid_meter_is_in_fluid_ounces(run_case):
    verdict = run_case("WA", ["beverage:1064.646g:100mg"], {}, True)
    liquid = verdict.rule("wa_au_liquid_sale")
    assert (str(liquid.used), str(liquid.cap), liquid.unit) == ("36.00", "72.00", "fl_oz")
