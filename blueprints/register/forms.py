"""Register forms."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField
from wtforms.validators import DataRequired, InputRequired, Regexp


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

    store_id = IntegerField(validators=[InputRequired("Choose a store.")])
