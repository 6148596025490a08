"""Sign-in and sign-up forms for staff and customers."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]
STATE_CHOICES = [SelectChoice("", "Choose…")] + [SelectChoice(code, code) for code in US_STATES]


class StaffLoginForm(FlaskForm):
    """Email and password for staff."""

    email = EmailField("Email", validators=[DataRequired("Enter your work email."), Email()])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class CustomerLoginForm(FlaskForm):
    """Email and password for a customer's online account."""

    email = EmailField("Email", validators=[DataRequired("Enter your email."), Email()])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class SignupForm(FlaskForm):
    """A new online account; a medical card lets 18–20 year olds register."""

    first_name = StringField(
        "First name", validators=[DataRequired("Enter your first name."), Length(max=80)]
    )
    last_name = StringField(
        "Last name", validators=[DataRequired("Enter your last name."), Length(max=80)]
    )
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email."), Email(), Length(max=254)]
    )
    phone = StringField(
        "Mobile phone (optional)",
        validators=[
            Optional(),
            Regexp(r"^[0-9 ()+.\-]{7,20}$", message="Enter a phone number like 505-555-0134."),
        ],
    )
    date_of_birth = DateField(
        "Date of birth", validators=[DataRequired("Enter your date of birth as YYYY-MM-DD.")]
    )
    resident_state = SelectField(
        "State you live in",
        choices=STATE_CHOICES,
        validators=[DataRequired("Choose the state you live in.")],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=10, max=128, message="Use at least 10 characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat password", validators=[EqualTo("password", message="The passwords differ.")]
    )
    has_medical_card = BooleanField("I have a medical cannabis card")
    # The card fields are checked only when the box is ticked (see the validate_ methods).
    medical_card_number = StringField("Medical card number")
    medical_card_state = SelectField("Card issued by", choices=STATE_CHOICES, validate_choice=False)
    medical_card_expires = DateField("Card expires", validators=[Optional()])

    def validate_medical_card_number(self, field):
        if not self.has_medical_card.data:
            return
        number = (field.data or "").strip()
        if not number:
            raise ValidationError("Enter your medical card number, or untick the medical card box.")
        if not 4 <= len(number) <= 40:
            raise ValidationError("A card number is 4 to 40 characters.")

    def validate_medical_card_state(self, field):
        if self.has_medical_card.data and field.data not in US_STATES:
            raise ValidationError("Choose the state that issued your card.")

    def validate(self, extra_validators=None) -> bool:
        """Validate every field, then require the card's expiry date when the box is ticked."""
        valid = super().validate(extra_validators)
        expires = self.medical_card_expires
        if self.has_medical_card.data and expires.data is None and not expires.errors:
            expires.errors = ["Enter the date your card expires."]
            valid = False
        return valid


class ForgotPasswordForm(FlaskForm):
    """The e-mail of the account whose password is forgotten."""

    email = EmailField("Email", validators=[DataRequired("Enter your email."), Email()])


class ResetPasswordForm(FlaskForm):
    """A new password, set through a reset link."""

    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a password."),
            Length(min=10, max=128, message="Use at least 10 characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[EqualTo("password", message="The passwords differ.")],
    )
