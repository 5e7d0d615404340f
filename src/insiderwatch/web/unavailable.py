"""The answer when a request cannot be served now: 503 with Retry-After, so the client
retries and nothing is half done. Shared by the API's routes (``api.py`` and
``unmask_routes.py``)."""

from __future__ import annotations

from fastapi import HTTPException

from insiderwatch.web.models import Problem

RETRY_AFTER_SECONDS = 1
OPS_UNAVAILABLE = {"model": Problem, "description": "Operational store unavailable: retry."}


def retry_later(detail: str) -> HTTPException:
    return HTTPException(503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def ops_unavailable(exc: Exception) -> HTTPException:
    """The operational store failed; the reply names the failure's kind, never its text
    (which may carry a connection string)."""
    return retry_later(f"operational store unavailable: {type(exc).__name__}")
