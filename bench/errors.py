"""Errors with a meaning for the command line."""

import errno


class UsageError(Exception):
    """A bad argument or input given by the user; the CLI prints it and exits with status 2."""


class InputError(Exception):
    """A bad input file (empty, not audio, NaN samples, ...). The message names the file."""


#: errno values of failures that come from the machine, not from the input: disk full or over quota, I/O
#: error, out of memory, too many open files
ENVIRONMENTAL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.ENOMEM, errno.EMFILE, errno.ENFILE})
#: errno values of a full disk (the run stops with one line: :class:`DiskFull`)
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: the start of the reason of a result that failed for an environmental cause: such a result is never stored
#: in a run folder, so the next run computes it again
RETRY = "retry: "


def environmental(exc: BaseException) -> bool:
    """Whether ``exc`` says something about the machine (memory, disk, I/O), not about the input: its
    result must not be cached."""
    return isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno in ENVIRONMENTAL_ERRNOS)


class DiskFull(Exception):
    """The file system of the run folder is full; the message names the folder and the space needed.
    The CLI prints it in one line and exits with status 1 (what was written is kept; rerun to resume)."""
