"""Adapters to the states' track-and-trace systems, behind one interface."""
