"""simsync.syncml."""
