"""Storefront forms: the age question, menu filters, cart changes, checkout, the medical card."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from blueprints.auth.forms import STATE_CHOICES
from blueprints.numbers import CountField, IdField
from models.infra.numbers import MAX_COUNT
from models.online.menu import SORTS, MenuFilters

STRAIN_CHOICES = [
    SelectChoice("indica", "Indica"),
    SelectChoice("sativa", "Sativa"),
    SelectChoice("hybrid", "Hybrid"),
    SelectChoice("cbd", "CBD"),
]


class AgeGateForm(FlaskForm):
    """The visitor's answer to the age question."""

    answer = RadioField(
        "Are you 21 or older, or 18 or older with a medical card?",
        choices=[SelectChoice("yes", "Yes, let me in"), SelectChoice("no", "No")],
        validators=[InputRequired("Choose an answer to continue.")],
    )


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MenuFilterForm(FlaskForm):
    """The menu's filters, read from the query string (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    q = SearchField("Search", validators=[Optional(), Length(max=80)])
    strain = CheckboxesField("Strain type", choices=STRAIN_CHOICES, validate_choice=False)
    brand = SelectField("Brand", choices=[], validate_choice=False)
    thc_min = IntegerField("THC from %", validators=[Optional(), NumberRange(0, 100)])
    thc_max = IntegerField("THC to %", validators=[Optional(), NumberRange(0, 100)])
    price_min = IntegerField("Price from $", validators=[Optional(), NumberRange(0, 100000)])
    price_max = IntegerField("Price to $", validators=[Optional(), NumberRange(0, 100000)])
    in_stock = BooleanField("In stock only")
    # Marks a submitted filter form, so an unticked "in stock" box means "show sold out too".
    filtered = HiddenField(default="1")
    sort = SelectField(
        "Sort by", choices=[SelectChoice(k, v) for k, v in SORTS.items()], validate_choice=False
    )

    def to_filters(self, category: str | None) -> MenuFilters:
        """Return the filters asked for; a field that did not validate is left out."""
        self.validate()

        def ok(field):
            return field.data if not field.errors else None

        low_thc, high_thc = ok(self.thc_min), ok(self.thc_max)
        low_price, high_price = ok(self.price_min), ok(self.price_max)
        return MenuFilters(
            category=category,
            q=(ok(self.q) or "").strip(),
            strains=tuple(self.strain.data or ()),
            brand=self.brand.data or None,
            thc_min_bp=None if low_thc is None else low_thc * 100,
            thc_max_bp=None if high_thc is None else high_thc * 100,
            price_min_cents=None if low_price is None else low_price * 100,
            price_max_cents=None if high_price is None else high_price * 100,
            in_stock=bool(self.in_stock.data) or not self.filtered.raw_data,
            sort=self.sort.data if self.sort.data in SORTS else "featured",
        )


class AddToCartForm(FlaskForm):
    """Put an amount of a product in the cart (units, or milligrams for goods sold by weight)."""

    product_id = IdField(validators=[InputRequired("Choose a product.")])
    quantity = CountField(
        "Quantity",
        default=1,
        validators=[InputRequired("Choose how many."), NumberRange(min=1, max=MAX_COUNT)],
    )
    next = HiddenField()


class CartLineForm(FlaskForm):
    """Change or remove a cart line (quantity 0 removes it)."""

    product_id = IdField(validators=[InputRequired()])
    quantity = CountField(
        "Quantity",
        validators=[InputRequired("Choose how many."), NumberRange(min=0, max=MAX_COUNT)],
    )


class CheckoutForm(FlaskForm):
    """The pickup slot; the key makes a repeated submit find the first order."""

    slot = RadioField("Pickup time", choices=[], validate_choice=False)
    idempotency_key = HiddenField(
        validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$", message="Reload the page.")]
    )

    def validate_slot(self, field):
        if not field.data:
            raise ValidationError("Choose a pickup time.")


class ConfirmForm(FlaskForm):
    """A button that changes something (CSRF only)."""


class MedicalCardForm(FlaskForm):
    """The customer's medical card, saved encrypted."""

    number = StringField(
        "Card number",
        validators=[
            DataRequired("Enter your card number."),
            Length(min=4, max=40, message="A card number is 4 to 40 characters."),
        ],
    )
    state = SelectField(
        "Issued by",
        choices=STATE_CHOICES,
        validators=[DataRequired("Choose the state that issued your card.")],
    )
    expires = DateField(
        "Expires", validators=[DataRequired("Enter the date your card expires as YYYY-MM-DD.")]
    )
