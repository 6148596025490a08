"""What a store sells: its products."""
