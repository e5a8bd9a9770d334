"""What every command shares: the --data-dir option, settings, logging and error translation."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from advisor.safety import PiiFilter
from knowledge.errors import BadInputError, ImportFileError, ModelError, NotFoundError, UshauriError
from knowledge.settings import Settings, load_settings

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (database, index, models). Default: $USHAURI_DATA_DIR or ./var"),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def setup_logging() -> None:
    """Our own INFO lines on stderr; the libraries' chatter only from WARNING up."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:  # personal data never reaches a log
        if not any(isinstance(f, PiiFilter) for f in handler.filters):
            handler.addFilter(PiiFilter())
    for name in ("knowledge", "advisor", "bot"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


def settings_for(data_dir: Path | None) -> Settings:
    return load_settings(data_dir=data_dir)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn Ushauri's errors into a one-line message and an exit code (2: bad input, 1: other)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setup_logging()
        try:
            return command(*args, **kwargs)
        except (ImportFileError, BadInputError, NotFoundError) as exc:
            fail(str(exc), 2)
        except ModelError as exc:
            fail(str(exc), 1)
        except UshauriError as exc:
            fail(str(exc), 1)

    return wrapper
