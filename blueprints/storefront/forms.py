"""Storefront forms."""

from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired


class AgeGateForm(FlaskForm):
    """The visitor's answer to the age question."""

    answer = RadioField(
        "Are you 21 or older, or 18 or older with a medical card?",
        choices=[SelectChoice("yes", "Yes, let me in"), SelectChoice("no", "No")],
        validators=[InputRequired("Choose an answer to continue.")],
    )
