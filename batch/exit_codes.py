"""The process exit codes of every command, in one place (the README's table is this one).

A scheduler alerts on these: 0 all done, 1 some rows did not end well (or a run stopped on repeated
AUTH_FAILURE), 2 nothing could start (a bad job file, settings or arguments), 3 drift found
(reconcile --check), 4 too many changes (reconcile --apply, nothing changed), 75 another run of
the same job holds its lock (try later), 130 interrupted.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a command's exit status means."""

    OK = 0
    ROWS_FAILED = 1  # some rows failed or are invalid; or the run stopped on repeated AUTH_FAILURE
    USAGE = 2  # the job file, the settings or the arguments cannot work: nothing was sent
    DRIFT = 3  # reconcile --check: some tickets differ from the desired state
    TOO_MANY_CHANGES = 4  # reconcile --apply: more rows would change than --max-changes allows
    TEMPFAIL = 75  # EX_TEMPFAIL (sysexits.h): another run of the same job holds its lock; try later
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)
