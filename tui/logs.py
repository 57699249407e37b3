"""Logging setup: orgtop's records go to a log file, never to the screen.

botocore and aiobotocore log request headers (signatures, session tokens) at
DEBUG, so their loggers are held at WARNING whatever the root level is.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs

NOISY = (
    "botocore",
    "aiobotocore",
    "aioboto3",
    "urllib3",
    "boto3",
    "s3transfer",
    "werkzeug",
    "moto",
    "asyncio",
    "datadog_api_client",
    "aiohttp",
)


def log_path() -> Path:
    """Return the log file: ``ORGTOP_LOG_FILE`` or the platform's log directory."""
    override = os.environ.get("ORGTOP_LOG_FILE")
    if override:
        return Path(override)
    return Path(platformdirs.user_log_dir("orgtop")) / "orgtop.log"


def setup(level: int = logging.INFO) -> Path | None:
    """Send orgtop's log records to the log file; returns its path, if writable."""
    root = logging.getLogger()
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    return path
