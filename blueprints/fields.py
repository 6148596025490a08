"""Form fields for figures people type: money as cents, weights as milligrams, percents, counts."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from wtforms import StringField
from wtforms.validators import ValidationError

from models import units
from models.infra.numbers import MAX_COUNT, parse_count


@dataclass(frozen=True, slots=True)
class Figure:
    """How one kind of figure is read from what a person typed, written back, and bounded."""

    parse: Callable[[str | None], int | None]
    write: Callable[[int], str]
    maximum: int | None = None
    too_big: str = "“{text}” is far more than this can be; check it."

    def read(self, text: str | None, required: str | None = None) -> int | None:
        """Return the whole number text means (None if blank); ValidationError says why not."""
        try:
            value = self.parse(text)
        except units.UnitError as exc:
            raise ValidationError(str(exc)) from exc
        if value is None:
            if required:
                raise ValidationError(required)
            return None
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(self.too_big.format(text=text or ""))
        return value


def count_figure(message: str = "Enter a whole number.", maximum: int = MAX_COUNT) -> Figure:
    """Return a whole count 0..maximum (digits 0-9 only); anything else is `message`.

    "{text}" in the message stands for what was typed.
    """

    def parse(text: str | None) -> int | None:
        typed = (text or "").strip()
        if not typed:
            return None
        count = parse_count(typed, maximum=maximum)
        if count is None:
            raise units.UnitError(message.replace("{text}", typed))
        return count

    return Figure(parse, str)


MONEY = Figure(units.parse_money, units.money_amount)
GRAMS = Figure(units.parse_grams, units.grams_amount)
PERCENT = Figure(units.parse_percent, units.percent_amount)
MILLIGRAMS = Figure(units.parse_milligrams, str)
COUNT = count_figure()


class FigureField(StringField):
    """A figure typed by a person; `data` is the whole number it means, None when blank.

    A parser of models.units reads it, and what is wrong with it is the field's error in the
    parser's words; `maximum`/`too_big` bound it and `required` refuses it blank.
    """

    figure: Figure = COUNT

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        figure: Figure | None = None,
        required: str | None = None,
        maximum: int | None = None,
        too_big: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(label, validators, **kwargs)
        figure = figure or self.figure
        if maximum is not None:
            figure = replace(figure, maximum=maximum)
        self.figure = replace(figure, too_big=too_big) if too_big else figure
        self.required = required
        if required:
            self.flags.required = True

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = self.figure.read(self.typed(valuelist), self.required)

    @staticmethod
    def typed(valuelist: list[Any] | None) -> str | None:
        """Return the text the person typed, None when nothing was sent."""
        return str(valuelist[0]) if valuelist else None

    def _value(self) -> str:
        # Shown again as typed, so a person corrects what they wrote, not our reading of it.
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else self.figure.write(self.data)

    @property
    def text(self) -> str:
        """Return what goes back into the box: the text as typed, or the figure written."""
        return self._value()


class CentsField(FigureField):
    """Dollars typed ("12.5", "$1,200.00"), held as integer cents."""

    figure = MONEY


class GramsField(FigureField):
    """Grams typed ("3.5", "0.001 g"), held as whole milligrams."""

    figure = GRAMS


class MilligramsField(FigureField):
    """Whole milligrams typed ("100", "100 mg"), as a label gives THC."""

    figure = MILLIGRAMS


class PercentField(FigureField):
    """A percent typed ("12.5%"), held in hundredths of a percent."""

    figure = PERCENT


class CountField(FigureField):
    """A whole count typed with the digits 0-9 (never ² or ٣)."""

    figure = COUNT


class ChosenFigureField(FigureField):
    """A figure read one of several ways, as the rest of the form decides (a unit, a kind).

    `choose(form)` names the way among `figures`; a name with no figure reads as nothing (None).
    """

    def __init__(
        self,
        label: str | None = None,
        validators: Any = None,
        *,
        figures: dict[str, Figure],
        choose: Callable[[Any], str | None],
        **kwargs: Any,
    ):
        super().__init__(label, validators, **kwargs)
        self.figures = figures
        self.choose = choose

    def process_formdata(self, valuelist: list[Any]) -> None:
        # Which way to read it is known only once the whole form is in: see pre_validate.
        self.data = None

    def pre_validate(self, form: Any) -> None:
        figure = self.figures.get(self.choose(form) or "")
        if figure is not None:
            self.figure = figure
            self.data = figure.read(self.typed(self.raw_data), self.required)
