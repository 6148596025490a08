"""Adapters to the states' track-and-trace systems, behind one interface."""

SYSTEMS = ("metrc", "biotrack")
LABELS = {"metrc": "Metrc", "biotrack": "BioTrack"}
