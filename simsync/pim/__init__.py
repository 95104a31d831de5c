"""simsync.pim."""
