"""`flask seed-demo`: the demo chain and its catalog."""
