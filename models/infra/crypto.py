"""Encryption at rest for card and ID numbers and state credentials, with keyed lookup hashes."""

import base64
import binascii
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_NONCE_BYTES = 12


class FieldKeyError(ValueError):
    """The configured FIELD_ENCRYPTION_KEY cannot be used."""


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def normalize_identifier(value: str) -> str:
    """Return a card or ID number without spaces, dashes or case, so lookups match what is typed."""
    return re.sub(r"[\s\-]", "", value).upper()


class FieldCipher:
    """AES-256-GCM for values at rest and an HMAC-SHA256 blind index for looking them up."""

    def __init__(self, key_b64: str):
        try:
            master = base64.urlsafe_b64decode(key_b64.encode())
        except (binascii.Error, ValueError) as exc:
            raise FieldKeyError("FIELD_ENCRYPTION_KEY is not valid url-safe base64") from exc
        if len(master) != 32:
            raise FieldKeyError("FIELD_ENCRYPTION_KEY must decode to 32 bytes")
        # Separate keys so the lookup hash can never help decrypt.
        self._aead = AESGCM(_derive(master, b"pistil/field-encryption/v1"))
        self._index_key = _derive(master, b"pistil/blind-index/v1")

    def encrypt(self, plaintext: str, context: bytes = b"") -> bytes:
        """Encrypt a text value; the context binds it to its column."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context)

    def decrypt(self, blob: bytes, context: bytes = b"") -> str:
        """Decrypt a value written by encrypt with the same context."""
        return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context).decode()

    def blind_index(self, value: str, context: bytes = b"") -> str:
        """Return the keyed hash used to find a row by an encrypted identifier."""
        message = context + b"\x00" + normalize_identifier(value).encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def cipher() -> FieldCipher:
    """Return the application's field cipher."""
    return current_app.extensions["pistil.cipher"]
