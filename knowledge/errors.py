"""Ushauri's named exceptions.

UshauriError
├── BadInputError        bad input from a person or a file (CLI exit 2, API 400/422)
│   └── ImportFileError  a knowledge-base file that cannot be imported (names file, line, field)
├── NotFoundError        an entry or other record that does not exist (CLI exit 2, API 404)
└── ModelError           a model or index that cannot be loaded or does not match
"""

from __future__ import annotations


class UshauriError(Exception):
    """Base class of every error Ushauri raises on purpose."""


class BadInputError(UshauriError):
    """Input that Ushauri cannot accept; the message says what is wrong and where."""


class ImportFileError(BadInputError):
    """A knowledge-base file with a bad record; carries file, line and field."""

    def __init__(self, file: str, line: int | None, field: str | None, problem: str):
        self.file, self.line, self.field, self.problem = file, line, field, problem
        where = file if line is None else f"{file}:{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{problem}")


class NotFoundError(UshauriError):
    """A record that does not exist."""


class ModelError(UshauriError):
    """A model, index or artifact that cannot be loaded or does not match its configuration."""
