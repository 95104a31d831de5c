"""simsync.card."""
