"""Requests and replies as the emulated systems see them."""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeGuard

from tracktrace.http import encode_json


@dataclass
class Request:
    """An HTTP request as received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    def json(self):
        """Decode the body keeping numbers exact and strings as strings (as Go and .NET do)."""
        return json.loads(self.raw.decode() or "null", parse_float=Decimal, parse_int=Decimal)


@dataclass
class Reply:
    """An HTTP answer."""

    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return encode_json(self.body).encode()


def text(status: int, message: str) -> Reply:
    """Return a plain-text answer (Metrc's 401 and 429 bodies)."""
    return Reply(status, message, content_type="text/plain; charset=utf-8")


class Answer(Exception):
    """Stop handling and send this reply."""

    def __init__(self, reply: Reply):
        super().__init__(reply.status)
        self.reply = reply


def is_number(value: object) -> TypeGuard[Decimal]:
    """Return whether a decoded JSON value was a number (not a string, not a boolean)."""
    return isinstance(value, Decimal)
