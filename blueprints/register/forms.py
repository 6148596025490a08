"""Register forms."""

import uuid

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

from blueprints.numbers import IdField
from models.sales.amounts import parse_cents
from models.sales.completion import Payment, plan_payments


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
    """A product picked from the menu search."""

    product_id = IdField(validators=[InputRequired("Pick a product.")], message="Pick a product.")
    quantity = StringField("Quantity", validators=[Optional(), Length(max=12)])


class QuantityForm(FlaskForm):
    """A new quantity (units) or weight (grams) for a line."""

    quantity = StringField(
        "Quantity", validators=[DataRequired("Enter a quantity."), Length(max=12)]
    )


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
    value = StringField("Value", validators=[Optional(), Length(max=12)])
    reason = StringField("Reason", validators=[Optional(), Length(max=200)])


class PayForm(FlaskForm):
    """What the customer hands over: cash, a debit payment, or both."""

    client_token = HiddenField(validators=[DataRequired("This payment form is stale; reload.")])
    cash_given = StringField("Cash given", validators=[Optional(), Length(max=14)])
    debit = StringField("Debit amount", validators=[Optional(), Length(max=14)])
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
            cash_given_cents=parse_cents(self.cash_given.data),
            debit_cents=parse_cents(self.debit.data),
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


class DrawerOpenForm(FlaskForm):
    """A drawer's name and the float counted into it."""

    name = StringField(
        "Drawer",
        default="Register 1",
        validators=[DataRequired("Name the drawer."), Length(max=40)],
    )
    float_amount = StringField(
        "Opening cash counted",
        validators=[DataRequired("Enter the opening cash you counted."), Length(max=14)],
    )


class DrawerMoveForm(FlaskForm):
    """Cash leaving the drawer: a drop to the safe or a paid-out."""

    kind = SelectField(
        "What", choices=[SelectChoice("drop", "Cash drop"), SelectChoice("paid_out", "Paid out")]
    )
    amount = StringField("Amount", validators=[DataRequired("Enter the amount."), Length(max=14)])
    reason = StringField(
        "Reason", validators=[DataRequired("Say what the cash is for."), Length(max=200)]
    )


class DrawerCloseForm(FlaskForm):
    """A closing note; the count by denomination is read separately."""

    # Which drawer the count is for, so a retried close finds the drawer it already closed.
    drawer_id = HiddenField(validators=[Optional()])
    note = StringField("Note", validators=[Optional(), Length(max=300)])


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
