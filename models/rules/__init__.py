"""State rules: purchase limits, taxes, and the rule packs they are read from."""
