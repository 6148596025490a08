"""Store settings forms: details and hours, register, online ordering, local taxes, reporting."""

import re
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from blueprints.fields import CentsField, PercentField
from models.infra.numbers import parse_count
from models.online.pickup import WEEKDAYS
from models.units import UnitError, parse_rate

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                "Saturday", "Sunday"), strict=True))  # fmt: skip
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def clock(text: str | None) -> str | None:
    """Return '08:00' for '8:00', None for blank, or refuse what is not a 24-hour time."""
    text = (text or "").strip()
    if not text:
        return None
    match = _CLOCK.match(text)
    if match is None:
        raise ValidationError("Use a 24-hour time such as 08:00 or 22:30.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


class StoreDetailsForm(FlaskForm):
    """The store's name, phone and opening hours (which pickup slots follow)."""

    name = StringField("Store name", validators=[DataRequired(), Length(max=120)])
    phone = StringField("Phone", validators=[Optional(), Length(max=32)])

    def validate(self, extra_validators=None) -> bool:
        """Check each day's hours: both times or neither, and not opening when it closes."""
        ok = super().validate(extra_validators)
        self.weekly: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            opens_field, closes_field = self[f"{day}_opens"], self[f"{day}_closes"]
            try:
                opens, closes = clock(opens_field.data), clock(closes_field.data)
            except ValidationError as problem:
                opens_field.errors = [*opens_field.errors, str(problem)]
                ok = False
                continue
            if (opens is None) != (closes is None):
                opens_field.errors = [
                    *opens_field.errors,
                    f"Give both times for {DAY_NAMES[day]}, or leave both empty if closed.",
                ]
                ok = False
            elif opens is not None and opens == closes:
                opens_field.errors = [
                    *opens_field.errors,
                    f"{DAY_NAMES[day]} opens and closes at the same time.",
                ]
                ok = False
            self.weekly[day] = [[opens, closes]] if opens else []
        return ok


for _day in WEEKDAYS:
    setattr(StoreDetailsForm, f"{_day}_opens", StringField(f"{DAY_NAMES[_day]} opens"))
    setattr(StoreDetailsForm, f"{_day}_closes", StringField(f"{DAY_NAMES[_day]} closes"))


# Settings amounts run from $0 to $10,000, in the words a manager reads beside the field.
SETTING_DOLLARS = {"maximum": 1_000_000, "too_big": "Give an amount between $0 and $10,000."}


class RegisterSettingsForm(FlaskForm):
    """When a discount needs a manager's PIN at the register."""

    approval_percent = PercentField(
        "Manager approval above (percent)",
        required="Enter a percent.",
        maximum=10000,
        too_big="Give a percent between 0 and 100.",
    )
    approval_amount = CentsField(
        "Manager approval above (dollars)", required="Enter an amount.", **SETTING_DOLLARS
    )


class CashSettingsForm(FlaskForm):
    """When a closing count or a return needs a manager at the register."""

    over_short_amount = CentsField(
        "Over/short allowed at the drawer count (dollars)",
        required="Enter the amount.",
        **SETTING_DOLLARS,
    )
    refund_amount = CentsField(
        "Manager approves refunds above (dollars)", required="Enter the amount.", **SETTING_DOLLARS
    )
    refund_days = StringField(
        "…and returns of sales older than (days)",
        validators=[DataRequired("Enter a number of days.")],
    )

    def validate_refund_days(self, field):
        text = (field.data or "").strip()
        days = parse_count(text.removeprefix("-"))
        if days is None:
            raise ValidationError("Give a whole number of days, e.g. 7.")
        if text.startswith("-") or days > 365:
            raise ValidationError("Give between 0 and 365 days.")
        field.days = days


class OnlineSettingsForm(FlaskForm):
    """Online ordering on or off, and how pickup slots are cut."""

    online_ordering = BooleanField("Take online orders")
    slot_minutes = IntegerField(
        "Pickup slot length (minutes)", validators=[DataRequired(), NumberRange(5, 240)]
    )
    slot_capacity = IntegerField(
        "Orders per slot", validators=[DataRequired(), NumberRange(1, 200)]
    )
    lead_minutes = IntegerField(
        "Earliest pickup after ordering (minutes)", validators=[Optional(), NumberRange(0, 1440)]
    )
    grace_minutes = IntegerField(
        "Hold orders after their slot (minutes)", validators=[Optional(), NumberRange(0, 1440)]
    )


class TaxSettingsForm(FlaskForm):
    """The store's local tax rates, one field per local tax its state's rules name."""

    def check_rates(self, caps: dict[str, Decimal | None]) -> dict[str, str] | None:
        """Return {tax: basis points as text} or None after marking the fields in error."""
        rates, ok = {}, True
        for name, cap in caps.items():
            field = self[name]
            try:
                # Local rates such as 7.875% need three decimals: 787.5 basis points.
                basis_points = parse_rate(field.data)
            except UnitError as problem:
                field.errors = [str(problem)]
                ok = False
                continue
            if basis_points is None:
                continue
            if basis_points > 10000:
                # Whatever the state's cap, no rate is above 100% (a sale's tax must fit a row).
                field.errors = ["A tax rate is at most 100%."]
                ok = False
                continue
            if cap is not None and basis_points > cap * 100:
                field.errors = [f"The state allows at most {cap}% for this tax."]
                ok = False
                continue
            rates[name] = format(basis_points.normalize(), "f")
        return rates if ok else None


def tax_form(local_taxes: dict[str, str]) -> type[TaxSettingsForm]:
    """Return a tax form class with one percent field per local tax name."""

    class Form(TaxSettingsForm):
        pass

    for name, label in local_taxes.items():
        setattr(Form, name, StringField(label, validators=[Optional()]))
    return Form


class ReportingForm(FlaskForm):
    """Where the store reports: the state system, its address, the license and credentials."""

    system = SelectField(
        "State system",
        choices=[SelectChoice("metrc", "Metrc"), SelectChoice("biotrack", "BioTrack")],
    )
    mode = RadioField(
        "Mode",
        choices=[
            SelectChoice("live", "Live: send every report to the state"),
            SelectChoice("dryrun", "Dry run: record each report's payload, send nothing"),
        ],
        default="dryrun",
    )
    # Picked from the state's known hosts (tracktrace.addresses); the view sets the choices.
    base_url = SelectField("API address", choices=[], validate_choice=False)
    license_number = StringField("State license number", validators=[Optional(), Length(max=40)])
    # Secrets are write-only: the page never shows them, and a blank field keeps the saved one.
    vendor_key = PasswordField("Metrc integrator (vendor) key", validators=[Length(max=200)])
    user_key = PasswordField("Metrc user key", validators=[Length(max=200)])
    ubi = StringField("BioTrack UBI / license", validators=[Optional(), Length(max=40)])
    username = StringField("BioTrack username", validators=[Optional(), Length(max=120)])
    password = PasswordField("BioTrack password", validators=[Length(max=200)])
    api = SelectField(
        "BioTrack API",
        choices=[
            SelectChoice("v3", "New Mexico V3 REST"),
            SelectChoice("legacy", "Legacy serverjson.asp"),
        ],
    )
