"""Stock: the packages the state tracks, the stock ledger, and online holds."""
