"""The online store: cart, checkout, menu, pickup slots, fulfilment, order mail."""
