"""Errors with a meaning for the command line."""


class UsageError(Exception):
    """A bad argument or input given by the user; the CLI prints it and exits with status 2."""


class InputError(Exception):
    """A bad input file (empty, not audio, NaN samples, ...). The message names the file."""
