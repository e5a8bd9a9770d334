"""Structured logs for the server: one JSON object a line, personal data masked."""

from __future__ import annotations

import json
import logging
import sys
import time

from advisor.safety import PiiFilter


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def json_logging(level: int = logging.INFO) -> None:
    """Replace the root handlers with one JSON handler on stderr that masks personal data."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    for name in ("knowledge", "advisor", "bot"):
        logging.getLogger(name).setLevel(level)
