"""Back-office forms."""

from collections.abc import Callable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from models.rules.cart_lines import LIMIT_CATEGORIES
from models.rules.packs import available_states, load_pack
from models.units import UnitError, parse_grams, parse_milligrams, parse_money

CATEGORY_LABELS = {
    "flower": "Flower",
    "preroll": "Pre-roll",
    "infused_preroll": "Infused pre-roll",
    "concentrate": "Concentrate",
    "vape": "Vape cartridge",
    "edible": "Edible",
    "beverage": "Beverage",
    "tincture": "Tincture",
    "topical": "Topical",
    "immature_plant": "Immature plant",
    "seed": "Seed",
}
MAX_LINES = 30


def typed(parse: Callable[[str | None], Any], text: str | None) -> Any:
    """Read a figure with a parser of models.units; what is wrong with it is the field's error."""
    try:
        return parse(text)
    except UnitError as exc:
        raise ValidationError(str(exc)) from exc


class WhatIfLineForm(Form):
    """One line of a what-if cart."""

    category = SelectField(
        "Category",
        choices=[SelectChoice("", "—")]
        + [SelectChoice(c, CATEGORY_LABELS[c]) for c in LIMIT_CATEGORIES]
        + [SelectChoice("none", "Not limited (accessory)")],
        # Blank rows (added but unused) are fine; anything else must be a known category.
        validate_choice=False,
    )
    net_weight = StringField("Net weight (g)")
    thc = StringField("THC per unit (mg)")
    quantity = IntegerField("Qty", default=1, validators=[Optional(), NumberRange(1, 999)])
    price = StringField("Price each ($)")

    def validate_category(self, field):
        if field.data not in (None, "", "none", *LIMIT_CATEGORIES):
            raise ValidationError("Choose a category from the list.")

    def validate_net_weight(self, field):
        field.milligrams = typed(parse_grams, field.data)

    def validate_thc(self, field):
        field.milligrams = typed(parse_milligrams, field.data)

    def validate_price(self, field):
        field.cents = typed(parse_money, field.data)


class WhatIfForm(FlaskForm):
    """A what-if cart: which state, which buyer, which day, which lines."""

    class Meta:
        # Read-only and shareable by URL: a GET form without a CSRF token.
        csrf = False

    state = SelectField("State")
    customer_class = SelectField(
        "Customer",
        choices=[
            SelectChoice("adult_use", "Adult use"),
            SelectChoice("medical", "Medical patient"),
        ],
    )
    non_resident = BooleanField("Out-of-state visitor")
    age = IntegerField("Age (optional)", validators=[Optional(), NumberRange(18, 120)])
    day = DateField("Date of sale", validators=[Optional()])
    lines = FieldList(FormField(WhatIfLineForm), min_entries=3, max_entries=MAX_LINES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = [
            SelectChoice(code, f"{load_pack(code).name} ({code})") for code in available_states()
        ]

    def filled_lines(self) -> list[WhatIfLineForm]:
        """Return the lines that have a category chosen."""
        return [entry.form for entry in self.lines if entry.form.category.data]
