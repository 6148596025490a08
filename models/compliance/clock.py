"""The reporting clock: wall time and sleeping, which a test can run fake."""

import time
from datetime import datetime, timedelta

from models.base import utcnow


class Clock:
    """Wall time and sleeping; a test can run it fake, where sleeping only moves time on."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.fake = False

    def now(self) -> datetime:
        """Return the time now (aware, UTC), moved on by any fake offset."""
        return utcnow() + self.offset

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`; a fake clock only moves on."""
        if seconds <= 0:
            return
        if self.fake:
            self.offset += timedelta(seconds=seconds)
        else:
            time.sleep(seconds)

    def advance(self, seconds: float) -> None:
        """Move a fake clock on."""
        self.offset += timedelta(seconds=seconds)


clock = Clock()
