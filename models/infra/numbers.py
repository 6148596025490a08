"""Whole numbers people type or put in URLs: ids and counts, read by one rule everywhere."""

# The largest id a row can have: PostgreSQL's integer. SQLite would go to 2**63 - 1, but one
# rule for both keeps a URL's answer the same on either database.
MAX_ID = 2**31 - 1
# The largest count a person can mean (units, notes in a drawer, a page number).
MAX_COUNT = 10**9


def is_digits(text: str) -> bool:
    """Say whether text is only the digits 0-9 (str.isdigit also takes ², ٣ and １)."""
    return text.isascii() and text.isdigit()


def parse_id(text: object) -> int | None:
    """Return the row id a form or query names, or None when no row can have it."""
    raw = str(text).strip() if text is not None else ""
    if not is_digits(raw) or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def parse_count(text: str | None, maximum: int = MAX_COUNT) -> int | None:
    """Return a whole number 0..maximum typed by a person, or None when it is not one."""
    raw = (text or "").strip()
    if not is_digits(raw) or len(raw) > len(str(maximum)):
        return None
    value = int(raw)
    return value if value <= maximum else None
