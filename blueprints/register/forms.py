"""Register forms."""

import uuid

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from blueprints.numbers import IdField
from models.sales import Payment, parse_cents, plan_payments


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


class ScanIdForm(FlaskForm):
    """A license barcode as the scanner types it, and a medical card if the customer has one."""

    scan = TextAreaField(
        "Scan the ID",
        validators=[DataRequired("Scan the barcode on the back of the ID.")],
    )
    card_number = StringField("Medical card number", validators=[Optional(), Length(max=40)])
    card_expires = DateField("Card expires", validators=[Optional()])


class ManualCheckInForm(FlaskForm):
    """Check in from the ID by hand: date of birth and expiry typed off the card."""

    birth = DateField(
        "Date of birth", validators=[InputRequired("Type the date of birth from the ID.")]
    )
    id_expires = DateField(
        "ID expires", validators=[InputRequired("Type the expiry date from the ID.")]
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


class ReturnForm(FlaskForm):
    """Why items come back and how the money goes back; per-line amounts are read separately."""

    reason = StringField(
        "Reason", validators=[DataRequired("Give a reason for the return."), Length(max=300)]
    )
    refund_kind = SelectField(
        "Refund",
        choices=[
            SelectChoice("cash", "Cash from the drawer"),
            SelectChoice("debit", "Back to the debit card"),
        ],
    )


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

    note = StringField("Note", validators=[Optional(), Length(max=300)])


class SearchForm(FlaskForm):
    """A search box (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=80)])
