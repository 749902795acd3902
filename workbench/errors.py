"""The few error types stages raise; only the edges (CLI, UI) translate them.

The message of every WorkbenchError is meant for the user: one line that says what is wrong,
where (file, line) and what to do. Messages never contain secrets.
"""


class WorkbenchError(Exception):
    """Base of every error a user can act on."""


class InputError(WorkbenchError):
    """Bad user input: a file we cannot read, an unknown id, a bad option."""


class TemplateError(WorkbenchError):
    """A script template or prompt that cannot be parsed, linted or rendered."""


class BackendError(WorkbenchError):
    """A rewrite/voice/render backend failed (network, bad answer, ...)."""


class BackendUnavailable(BackendError):
    """A backend cannot be used here: a library is missing or a setting is not set."""


class RenderError(WorkbenchError):
    """Rendering the video failed."""


class StoreError(WorkbenchError):
    """The SQLite store cannot be opened or written."""


class Cancelled(WorkbenchError):
    """The user stopped a long job (render, batch); nothing half-written is left behind."""


class ComplianceBlocked(WorkbenchError):
    """A compliance check blocks publishing; the message lists every finding and the fix."""
