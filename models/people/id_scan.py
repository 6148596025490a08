"""Read the AAMVA PDF417 text a scanner types from a driver's license, and decide who may buy."""

import re
from dataclasses import dataclass
from datetime import date

from models.people.customers import ADULT_AGE, MEDICAL_AGE, age_on
from models.rules.pack_rules import RulePack

# A keyboard-wedge scanner types the barcode's LF/RS/CR separators as Enter keys, or drops them;
# either way every data element starts with its three-letter id (DAQ, DCS, DBB...).
_SEPARATORS = re.compile(r"[\n\r\x1e\x1c\x1d]+")
_HEADER = re.compile(r"(?:ANSI ?|AAMVA)(?P<iin>\d{6})(?P<version>\d{2})")
_ELEMENT = re.compile(r"^(D[A-Z]{2})(.*)$")
# The subfile designators sit on the header line; the first element follows "DL" or "ID".
_FIRST_ELEMENT = re.compile(r"(?:DL|ID)(DAQ|DCA|DCS|DAA|DAB|DAC|DBB)(.*)$")
_KNOWN = {
    "DAA", "DAB", "DAC", "DAD", "DAG", "DAI", "DAJ", "DAK", "DAQ", "DAU", "DAY", "DBA", "DBB",
    "DBC", "DBD", "DCA", "DCB", "DCD", "DCF", "DCG", "DCK", "DCS", "DCT", "DCU", "DDA", "DDB",
    "DDE", "DDF", "DDG", "DDK", "DDL",
}  # fmt: skip
# Without separators only the known ids can mark where one element ends and the next begins.
_ALL_ELEMENTS = re.compile("(" + "|".join(sorted(_KNOWN)) + ")")


class IdScanError(ValueError):
    """The scanned text is not a readable AAMVA license, with the message to show."""


class CheckInRefused(ValueError):
    """The law does not let this person buy here today, with the reason to show."""


@dataclass(frozen=True)
class IdDocument:
    """What a license or state ID says about its holder."""

    first_name: str
    last_name: str
    date_of_birth: date
    expires: date
    id_number: str
    state: str
    middle_name: str = ""
    country: str = "USA"
    aamva_version: int | None = None

    @property
    def name(self) -> str:
        """Return the holder's first and last name."""
        return f"{self.first_name} {self.last_name}".strip()


def looks_like_aamva(text: str) -> bool:
    """Say whether typed text is a license barcode rather than a package tag or a name."""
    text = text.lstrip()
    return text.startswith("@") or bool(_HEADER.search(text[:80])) or "DAQ" in text


def _elements(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in _SEPARATORS.split(text):
        line = raw.strip("\x00 ")
        if not line:
            continue
        match = _FIRST_ELEMENT.search(line) if _HEADER.search(line) else _ELEMENT.match(line)
        if match and match.group(1) in _KNOWN:
            found.setdefault(match.group(1), match.group(2).strip())
    if "DAQ" in found and ("DBB" in found or "DBA" in found):
        return found
    # A scanner that drops the separators runs the elements together: split on the known ids.
    pieces = _ALL_ELEMENTS.split(text.replace("\n", "").replace("\r", ""))
    found = {}
    for code, value in zip(pieces[1::2], pieces[2::2], strict=False):
        if code in _KNOWN:
            found.setdefault(code, value.strip())
    return found


def _date(value: str, iso_first: bool, label: str) -> date:
    digits = re.sub(r"\D", "", value or "")
    if len(digits) != 8:
        raise IdScanError(f"The license's {label} could not be read. Scan it again.")
    iso = (int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    us = (int(digits[4:]), int(digits[:2]), int(digits[2:4]))
    for year, month, day in (iso, us) if iso_first else (us, iso):
        try:
            if 1900 <= year <= 2200:
                return date(year, month, day)
        except ValueError:
            continue
    raise IdScanError(f"The license's {label} could not be read. Scan it again.")


def parse_aamva(text: str) -> IdDocument:
    """Read name, date of birth, expiry, ID number and state from a license's barcode text."""
    if not text or not text.strip():
        raise IdScanError("Scan the barcode on the back of the license.")
    header = _HEADER.search(text)
    version = int(header.group("version")) if header else None
    found = _elements(text)
    if "DAQ" not in found:
        raise IdScanError(
            "That scan is not a driver's license barcode (no ID number in it). "
            "Scan the large barcode on the back of the license."
        )
    country = (found.get("DCG") or "USA").upper()
    birth, expires = _birth_and_expiry(found, country, version)
    first, middle, last = _holder_name(found)
    return IdDocument(
        first_name=_title(first),
        last_name=_title(last),
        middle_name=_title(middle) if middle.upper() not in ("NONE", "UNAVL", "") else "",
        date_of_birth=birth,
        expires=expires,
        id_number=found["DAQ"].strip().upper(),
        state=_issuing_state(found),
        country=country,
        aamva_version=version,
    )


def _birth_and_expiry(
    found: dict[str, str], country: str, version: int | None
) -> tuple[date, date]:
    """Read the date of birth (DBB) and the expiry (DBA) in the order the issuer writes dates."""
    # Canada and Mexico, and the 2000 standard (version 1), write dates year first.
    iso_first = country in ("CAN", "MEX") or version == 1
    if "DBB" not in found:
        raise IdScanError("The license's date of birth could not be read. Scan it again.")
    if "DBA" not in found:
        raise IdScanError("The license's expiry date could not be read. Scan it again.")
    return (
        _date(found["DBB"], iso_first, "date of birth"),
        _date(found["DBA"], iso_first, "expiry date"),
    )


def _holder_name(found: dict[str, str]) -> tuple[str, str, str]:
    """Read first, middle and last name from the separate fields or the older combined ones."""
    last = found.get("DCS") or found.get("DAB") or ""
    first = found.get("DAC") or ""
    middle = found.get("DAD") or ""
    if not first and found.get("DCT"):
        given = re.split(r"[,\s]+", found["DCT"].strip(), maxsplit=1)
        first, middle = given[0], (given[1] if len(given) > 1 else middle)
    if not last and found.get("DAA"):
        parts = [p.strip() for p in re.split(r"[,$]", found["DAA"])]
        last = parts[0]
        first = first or (parts[1] if len(parts) > 1 else "")
    if not last or not first:
        raise IdScanError("The name on the license could not be read. Scan it again.")
    return first, middle, last


def _issuing_state(found: dict[str, str]) -> str:
    """Read the two-letter jurisdiction (DAJ) that issued the license."""
    state = (found.get("DAJ") or "").strip().upper()[:2]
    if not re.fullmatch(r"[A-Z]{2}", state):
        raise IdScanError("The issuing state could not be read from the license. Scan it again.")
    return state


def _title(value: str) -> str:
    """Return a name as people write it (licenses print them in capitals)."""
    return " ".join(part.capitalize() for part in value.strip().split())


def minimum_ages(pack: RulePack | None) -> tuple[int, int]:
    """Return the adult-use and medical minimum ages of a state's pack (21 and 18 by default)."""
    adult, medical = ADULT_AGE, MEDICAL_AGE
    if pack is not None:
        if "adult_use" in pack.classes and pack.classes["adult_use"].min_age is not None:
            adult = pack.classes["adult_use"].min_age
        if "medical" in pack.classes and pack.classes["medical"].min_age is not None:
            medical = pack.classes["medical"].min_age
    return adult, medical


@dataclass(frozen=True)
class Eligibility:
    """Who may buy, under which class, and anything the budtender should know."""

    customer_class: str
    age: int
    notice: str | None = None


def _fmt(day: date) -> str:
    return day.strftime("%b %-d, %Y")


def check_eligibility(
    *,
    birth: date,
    id_expires: date | None,
    today: date,
    card_expires: date | None = None,
    card_presented: bool = False,
    sells_adult_use: bool = True,
    sells_medical: bool = False,
    pack: RulePack | None = None,
) -> Eligibility:
    """Decide whether a person may buy today and under which class; refuse with the reason."""
    if id_expires is None:
        raise CheckInRefused("Check the customer's ID: no expiry date is on file. Scan the ID.")
    if id_expires < today:
        raise CheckInRefused(
            f"ID expired on {_fmt(id_expires)}. An expired ID cannot be accepted; "
            "ask for a current ID."
        )
    adult_age, medical_age = minimum_ages(pack)
    age = age_on(birth, today)
    card_valid = card_expires is not None and card_expires >= today
    if card_valid and sells_medical:
        if age < medical_age:
            raise CheckInRefused(
                f"Under {medical_age} (age {age}): cannot buy here, even with a medical card."
            )
        return Eligibility("medical", age)
    if card_valid and age < adult_age:
        raise CheckInRefused(
            f"Under {adult_age} (age {age}): this store sells adult-use only, so a medical "
            f"card does not let someone under {adult_age} buy here."
        )
    if card_expires is not None and not card_valid:
        expired = f"Medical card expired on {_fmt(card_expires)}."
        if card_presented or age < adult_age or not sells_adult_use:
            if age < adult_age:
                raise CheckInRefused(f"{expired} Under {adult_age} (age {age}): cannot buy.")
            raise CheckInRefused(
                f"{expired} Renew it, or check in without the card for an adult-use sale."
            )
        return Eligibility("adult_use", age, notice=f"{expired} Selling as adult-use.")
    if not sells_adult_use:
        raise CheckInRefused("This store sells to medical patients only: ask for a valid card.")
    if age < adult_age:
        raise CheckInRefused(
            f"Under {adult_age} (age {age}): cannot buy without a valid medical card."
        )
    return Eligibility("adult_use", age)
