"""The root of uom-batch's errors, and the ones that stop a job before it starts.

BatchError
├── ConfigError        bad settings or credentials                 exit 2
├── JobFileError       unreadable job file, bad or missing columns exit 2, nothing sent
├── JournalError       (batch.journal.schema) a journal that cannot be used   exit 2
└── RowInvalid         one row breaks a rule                        outcome `invalid`

Each carries the exit code it ends a command with (`exit_code`: 2 unless a subclass says
otherwise, e.g. a busy job lock: 75). What the API or the wire said is batch.uom.errors.UomError,
a tree with its own root: the wire layer imports nothing of the rest of batch/. The CLI reports
both as a message (a UomError: exit 2).
"""

from __future__ import annotations

from batch.exit_codes import ExitCode


class BatchError(Exception):
    """Anything uom-batch reports to its user as a message rather than a traceback."""

    exit_code: int = ExitCode.USAGE  # nothing could start; a subclass may say "try later" (75)


class ConfigError(BatchError):
    """The settings cannot work: a missing credential, a bad value, an unreadable config file."""


class JobFileError(BatchError):
    """The job file cannot be used at all; the message names the file and what is wrong."""


class RowInvalid(BatchError):
    """One row breaks a validation rule; the row ends as `invalid` and is never sent."""
