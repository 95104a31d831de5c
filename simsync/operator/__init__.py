"""simsync.operator."""
