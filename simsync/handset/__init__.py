"""simsync.handset."""
