"""BioTrack: New Mexico's V3 REST API, and the legacy serverjson.asp RPC used by other states.

Marked [I] in the reference (and so here): V3's void, refund, sales list and inventory list come
from the newer REST surface seen in OpenTHC's mock, and legacy `item_number` carrying our number.
The card lookups are [V] for V3's request and answer (OpenTHC's mock: CardActive, CardExpiration,
CardKey) and [I] for what an unknown card gets (taken as 404) and for the legacy `card_lookup`
answer (`active`, `expiration_date`). Confirm them against the state's sandbox before relying on
them.
"""
