"""Back-office forms."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from blueprints.fields import CentsField, GramsField, MilligramsField
from models.rules.cart_lines import LIMIT_CATEGORIES
from models.rules.packs import available_states, load_pack

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
    net_weight = GramsField("Net weight (g)")
    thc = MilligramsField("THC per unit (mg)")
    quantity = IntegerField("Qty", default=1, validators=[Optional(), NumberRange(1, 999)])
    price = CentsField("Price each ($)")

    def validate_category(self, field):
        if field.data not in (None, "", "none", *LIMIT_CATEGORIES):
            raise ValidationError("Choose a category from the list.")


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
