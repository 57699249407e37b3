"""Map AWS and Datadog failures to error kinds and expected states."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from collectors.model import ErrorKind, State

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "AuthFailure",
    }
)
THROTTLED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "LimitExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
EXPIRED_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
NOT_FOUND_CODES = frozenset(
    {
        "NoSuchEntity",
        "NoSuchResourceException",
        "ResourceNotFoundException",
        "AccountNotFoundException",
        # Cost Explorer has no data for the period (not enabled, or too new).
        "DataUnavailableException",
    }
)
REGION_DISABLED_CODES = frozenset({"OptInRequired", "RegionDisabledException"})


class ConfigError(Exception):
    """An invalid config or scenario file, reported with its file, line and key."""

    def __init__(
        self, path: str, message: str, *, key: str = "", line: int | None = None
    ) -> None:
        """Store where the problem is and what to do about it."""
        self.path = path
        self.key = key
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        """Format as ``file:line: key: message``, leaving out unknown parts."""
        where = self.path
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.message}"
        return f"{where}: {self.message}"


class CredentialError(Exception):
    """The source identity cannot be obtained; the message tells how to fix it."""


class RefreshError(Exception):
    """A refresh could not start: no identity or no account list."""


@dataclass(frozen=True, slots=True)
class Classified:
    """Meaning of a caught exception: an error kind or an expected state."""

    kind: ErrorKind | None
    state: State | None
    code: str
    message: str


def classify(error: BaseException) -> Classified:
    """Map an exception from botocore, aiohttp or asyncio to a kind or a state."""
    if isinstance(error, ClientError):
        return _classify_client_error(error)
    if isinstance(error, asyncio.TimeoutError | ReadTimeoutError | ConnectTimeoutError):
        return Classified(
            ErrorKind.TIMEOUT, None, "Timeout", "timed out waiting for a response"
        )
    if isinstance(error, EndpointConnectionError):
        return Classified(ErrorKind.UNEXPECTED, None, "EndpointConnection", str(error))
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return classify_http_status(status, type(error).__name__, str(error))
    return Classified(ErrorKind.UNEXPECTED, None, type(error).__name__, str(error))


def classify_http_status(status: int, code: str, message: str) -> Classified:
    """Map a bare HTTP status (Datadog, or an AWS answer without a code)."""
    if status == 403:
        return Classified(ErrorKind.ACCESS_DENIED, None, code, message)
    if status == 429:
        return Classified(ErrorKind.THROTTLED, None, code, message)
    if status == 404:
        return Classified(ErrorKind.NOT_FOUND, None, code, message)
    return Classified(ErrorKind.UNEXPECTED, None, code, message)


def _classify_client_error(error: ClientError) -> Classified:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = str(details.get("Message", "")) or str(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in REGION_DISABLED_CODES:
        return Classified(None, State.REGION_DISABLED, code, message)
    if code in ACCESS_DENIED_CODES:
        return Classified(ErrorKind.ACCESS_DENIED, None, code, message)
    if code in THROTTLED_CODES:
        return Classified(ErrorKind.THROTTLED, None, code, message)
    if code in EXPIRED_CODES:
        return Classified(ErrorKind.EXPIRED_CREDENTIALS, None, code, message)
    if code in NOT_FOUND_CODES:
        return Classified(ErrorKind.NOT_FOUND, None, code, message)
    if not code and status:
        return classify_http_status(status, f"HTTP{status}", message)
    return Classified(ErrorKind.UNEXPECTED, None, code, message)
