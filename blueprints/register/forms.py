"""Register forms."""

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from blueprints.fields import (
    GRAMS,
    MONEY,
    PERCENT,
    CentsField,
    ChosenFigureField,
    FigureField,
    count_figure,
)
from blueprints.numbers import IdField
from models.sales.amounts import MAX_GRAMS_MG, MAX_MONEY_DOLLARS
from models.sales.cash_drawer import DENOMINATIONS
from models.sales.completion import Payment, plan_payments
from models.sales.orders import OrderLine

# What a register takes: the same bounds and words as models.sales.amounts' parsers.
SALE_MONEY = replace(
    MONEY,
    maximum=MAX_MONEY_DOLLARS * 100,
    too_big="“{text}” is more than a register handles; check the amount.",
)
SALE_GRAMS = replace(
    GRAMS,
    maximum=MAX_GRAMS_MG * 1000,
    too_big="“{text}” is not a weight in grams a sale can hold.",
)
DISCOUNT_PERCENT = replace(
    PERCENT, maximum=100_000, too_big="“{text}” is not a percent a discount can be."
)
LINE_UNITS = count_figure("Enter a whole number of units (0 takes the line off).")


class PinForm(FlaskForm):
    """A budtender's PIN to take over the register."""

    user_id = HiddenField(validators=[InputRequired("Tap your name first.")])
    pin = PasswordField(
        "PIN",
        validators=[
            DataRequired("Enter your PIN."),
            Regexp(r"^\d{4,8}$", message="A PIN is 4 to 8 digits."),
        ],
    )


class StoreForm(FlaskForm):
    """Which store a staff member works in now."""

    store_id = IdField(validators=[InputRequired("Choose a store.")], message="Choose a store.")


CARD_READS = [SelectChoice("scan", "Card scanned"), SelectChoice("typed", "Number typed")]


class CardFields:
    """A medical card in hand: its number and expiry, how it was read, and the budtender's word."""

    card_number = StringField("Medical card number", validators=[Optional(), Length(max=40)])
    card_expires = DateField("Card expires", validators=[Optional()])
    card_read = RadioField("How", choices=CARD_READS, default="scan", validators=[Optional()])
    card_checked = BooleanField(
        "I hold the physical card and it belongs to the person in front of me"
    )


class ScanIdForm(CardFields, FlaskForm):
    """A license barcode as the scanner types it, and a medical card if the customer has one."""

    scan = TextAreaField(
        "Scan the ID",
        validators=[DataRequired("Scan the barcode on the back of the ID.")],
    )


class CardCheckForm(CardFields, FlaskForm):
    """Verify a returning customer's medical card at the counter."""


class ManualCheckInForm(FlaskForm):
    """Check in from the ID by hand: dates and number typed off the card (only a hash is kept)."""

    birth = DateField(
        "Date of birth", validators=[InputRequired("Type the date of birth from the ID.")]
    )
    id_expires = DateField(
        "ID expires", validators=[InputRequired("Type the expiry date from the ID.")]
    )
    id_number = StringField(
        "ID number",
        validators=[
            DataRequired("Type the ID number: the same ID twice is one person for the limits."),
            Length(min=4, max=40, message="An ID number is 4 to 40 characters."),
        ],
    )


class ScanForm(FlaskForm):
    """A package tag as the scanner types it."""

    tag = StringField("Scan a package", validators=[DataRequired("Scan a package tag.")])


class AddProductForm(FlaskForm):
    """A product picked from the menu search; its quantity reads in the product's unit."""

    # The product's unit, set once the product is known: grams for goods sold by weight.
    unit = "each"
    product_id = IdField(validators=[InputRequired("Pick a product.")], message="Pick a product.")
    quantity = ChosenFigureField(
        "Quantity",
        figures={"grams": SALE_GRAMS, "each": count_figure("Enter a whole number of units.")},
        choose=lambda form: form.unit,
    )


class QuantityForm(FlaskForm):
    """A new quantity (units) or weight (grams) for a line; 0 takes the line off."""

    quantity = ChosenFigureField(
        "Quantity",
        required="Enter a quantity.",
        figures={"grams": SALE_GRAMS, "each": LINE_UNITS},
        choose=lambda form: form.unit,
    )

    def __init__(self, *args: Any, unit: str = "each", **kwargs: Any):
        self.unit = "grams" if unit == "grams" else "each"
        super().__init__(*args, **kwargs)


class ApprovalMixin:
    """A manager's name and PIN, for what needs a manager's say-so."""

    manager_id = StringField("Manager", validators=[Optional()])
    manager_pin = PasswordField(
        "Manager PIN",
        validators=[Optional(), Regexp(r"^\d{4,8}$", message="A PIN is 4 to 8 digits.")],
    )


class DiscountForm(ApprovalMixin, FlaskForm):
    """A discount on a line or the sale: percent or amount, and why."""

    kind = SelectField(
        "Discount",
        choices=[
            SelectChoice("percent", "Percent"),
            SelectChoice("amount", "Amount"),
            SelectChoice("none", "No discount"),
        ],
        default="percent",
    )
    # Hundredths of a percent or cents, as the kind says; nothing for "none".
    value = ChosenFigureField(
        "Value",
        figures={"percent": DISCOUNT_PERCENT, "amount": SALE_MONEY},
        choose=lambda form: form.kind.data,
    )
    reason = StringField("Reason", validators=[Optional(), Length(max=200)])


class PayForm(FlaskForm):
    """What the customer hands over: cash, a debit payment, or both."""

    client_token = HiddenField(validators=[DataRequired("This payment form is stale; reload.")])
    cash_given = CentsField("Cash given", figure=SALE_MONEY)
    debit = CentsField("Debit amount", figure=SALE_MONEY)
    debit_reference = StringField("Debit approval code", validators=[Optional(), Length(max=64)])

    @classmethod
    def for_attempt(cls, form: "PayForm | None" = None) -> "PayForm":
        """Return the form with a fresh token for this attempt (kept when shown again)."""
        form = form if form is not None else cls(formdata=None)
        if not form.client_token.data:
            form.client_token.data = uuid.uuid4().hex
        return form

    def payments(self, total_cents: int) -> list[Payment]:
        """Plan the tenders this form describes for a total (SaleError when they do not fit)."""
        return plan_payments(
            total_cents,
            cash_given_cents=self.cash_given.data,
            debit_cents=self.debit.data,
            debit_reference=(self.debit_reference.data or "").strip() or None,
        )


class VoidForm(ApprovalMixin, FlaskForm):
    """Why a sale is voided, and the manager who allows it."""

    reason = StringField(
        "Reason", validators=[DataRequired("Give a reason for the void."), Length(max=300)]
    )


class ReturnForm(ApprovalMixin, FlaskForm):
    """Why items come back and how the money goes back; per-line amounts are read separately."""

    # Sent once per attempt, so a retried submit finds the return it already recorded.
    client_token = HiddenField(validators=[Optional(), Length(max=64)])
    reason = StringField(
        "Reason", validators=[DataRequired("Give a reason for the return."), Length(max=300)]
    )
    refund_kind = SelectField(
        "Refund",
        choices=[
            SelectChoice("paid", "As paid (card first, then cash)"),
            SelectChoice("cash", "Cash from the drawer"),
            SelectChoice("debit", "Back to the debit card"),
        ],
        default="paid",
    )

    @classmethod
    def for_attempt(cls, form: "ReturnForm | None" = None) -> "ReturnForm":
        """Return the form with a fresh token for this attempt (kept when shown again)."""
        form = form if form is not None else cls(formdata=None)
        if not form.client_token.data:
            form.client_token.data = uuid.uuid4().hex
        return form

    @classmethod
    def for_lines(cls, lines: Iterable[OrderLine]) -> type["ReturnForm"]:
        """Return the form for a sale's lines: how much of each comes back, and where it goes."""
        fields: dict[str, Any] = {}
        for line in lines:
            whole = count_figure(f"Enter how many of {line.name} come back (a whole number).")
            fields[f"qty_{line.id}"] = FigureField(
                figure=SALE_GRAMS if line.unit == "grams" else whole, name=f"qty-{line.id}"
            )
            fields[f"disposition_{line.id}"] = StringField(
                name=f"disposition-{line.id}", default="restock"
            )
        return type("SaleReturnForm", (cls,), fields)

    def coming_back(self, lines: Iterable[OrderLine]) -> list[tuple[OrderLine, int, str]]:
        """Return each line with an amount coming back, the amount, and restock or destroy."""
        back = []
        for line in lines:
            amount = self[f"qty_{line.id}"].data
            if amount:
                back.append((line, amount, self[f"disposition_{line.id}"].data or "restock"))
        return back

    def amount_error(self) -> str | None:
        """Return what is wrong with the first amount that cannot be read, if any."""
        return next((f.errors[0] for f in self if isinstance(f, FigureField) and f.errors), None)


class DrawerOpenForm(FlaskForm):
    """A drawer's name and the float counted into it."""

    name = StringField(
        "Drawer",
        default="Register 1",
        validators=[DataRequired("Name the drawer."), Length(max=40)],
    )
    float_amount = CentsField(
        "Opening cash counted", figure=SALE_MONEY, required="Enter the opening cash you counted."
    )


class DrawerMoveForm(FlaskForm):
    """Cash leaving the drawer: a drop to the safe or a paid-out."""

    kind = SelectField(
        "What", choices=[SelectChoice("drop", "Cash drop"), SelectChoice("paid_out", "Paid out")]
    )
    amount = CentsField("Amount", figure=SALE_MONEY, required="Enter the amount.")
    reason = StringField(
        "Reason", validators=[DataRequired("Say what the cash is for."), Length(max=200)]
    )


class DrawerCloseForm(FlaskForm):
    """A blind closing count: how many of each note and coin, and a note."""

    # Which drawer the count is for, so a retried close finds the drawer it already closed.
    drawer_id = HiddenField(validators=[Optional()])
    note = StringField("Note", validators=[Optional(), Length(max=300)])

    def counts(self) -> dict[int, int]:
        """Return {denomination in cents: how many were counted} for the boxes filled in."""
        counted = {value: self[f"count_{value}"].data for value, _ in DENOMINATIONS}
        return {value: count for value, count in counted.items() if count is not None}

    def typed_counts(self) -> dict[int, str]:
        """Return what was typed in each box, to show the count again as it was."""
        return {value: self[f"count_{value}"].text for value, _ in DENOMINATIONS}

    def count_error(self) -> str | None:
        """Return what is wrong with the first box that is not a count, if any."""
        boxes = (self[f"count_{value}"] for value, _ in DENOMINATIONS)
        return next((box.errors[0] for box in boxes if box.errors), None)


for _value, _label in DENOMINATIONS:
    setattr(
        DrawerCloseForm,
        f"count_{_value}",
        FigureField(
            name=f"count-{_value}",
            figure=count_figure(
                f"Count the {_label} again: “{{text}}” is not a number of notes or coins.",
                maximum=100000,
            ),
        ),
    )


class DrawerApprovalForm(ApprovalMixin, FlaskForm):
    """A manager's PIN and reason for a closing count off by more than the store allows."""

    drawer_id = HiddenField(validators=[InputRequired("Choose the drawer.")])
    reason = StringField(
        "Reason",
        validators=[DataRequired("Give a reason for the over/short."), Length(max=300)],
    )


class SearchForm(FlaskForm):
    """A menu search box (GET, no CSRF): product names only, never people."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=80)])


class CustomerSearchForm(FlaskForm):
    """A customer search, posted so names and card digits stay out of URLs and access logs."""

    q = StringField("Returning customer", validators=[Optional(), Length(max=80)])


class IdentityForm(ApprovalMixin, FlaskForm):
    """A change to a customer's stored identity, with why; a manager makes or approves it."""

    first_name = StringField(
        "First name", validators=[DataRequired("Enter the first name."), Length(max=80)]
    )
    last_name = StringField(
        "Last name", validators=[DataRequired("Enter the last name."), Length(max=80)]
    )
    date_of_birth = DateField(
        "Date of birth", validators=[InputRequired("Enter the date of birth.")]
    )
    id_number = StringField(
        "New ID number",
        validators=[Optional(), Length(min=4, max=40)],
        description="Leave empty to keep the ID number on file.",
    )
    id_state = StringField(
        "ID state",
        validators=[Optional(), Regexp(r"^[A-Za-z]{2}$", message="Two letters, like NM.")],
    )
    id_expires = DateField("ID expires", validators=[Optional()])
    reason = StringField(
        "Reason",
        validators=[DataRequired("Say why the identity on file changes."), Length(max=300)],
    )
