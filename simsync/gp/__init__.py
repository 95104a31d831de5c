"""simsync.gp."""
