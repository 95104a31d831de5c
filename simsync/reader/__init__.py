"""simsync.reader."""
