"""Loopback Metrc v2 and BioTrack servers for tests and trials, with fault injection."""

from tracktrace.emulator.server import Emulator, Fault
from tracktrace.emulator.world import World

__all__ = ["Emulator", "Fault", "World"]
