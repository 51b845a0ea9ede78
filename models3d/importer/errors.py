"""The one error an import raises."""

from __future__ import annotations


class ModelImportError(ValueError):
    """The model cannot be imported; the message says why and what to pass to fix it."""
