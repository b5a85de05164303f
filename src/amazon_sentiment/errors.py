"""Errors that carry a message meant for the person running the pipeline.

Every stage raises :class:`PipelineError` (or a subclass) for bad input or an
unreachable dependency; the CLI prints its message and exits non-zero, without a
stack trace. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PipelineError(Exception):
    """A problem the user can fix: bad input, bad configuration, a server down."""

    exit_code = 1


class InputDataError(PipelineError):
    """The input data is missing, unreadable, empty, or of the wrong shape."""


class ConfigError(PipelineError):
    """A configuration file or setting is invalid."""


class TrackingError(PipelineError):
    """The MLflow tracking server or registry cannot be used."""
