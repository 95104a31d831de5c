"""The base of simsync's user-facing errors: the CLI prints their message on one line, no traceback."""


class SimsyncError(Exception):
    """An error with a message meant for the user (bad input, missing file, refused operation)."""
