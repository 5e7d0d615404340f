"""The HTTP API: thin routes over the service (collector, alerts, timelines, health,
metrics). Every read of an employee's data is written to the audit log before it is
answered; staff appear as pseudonyms."""

import asyncio
import datetime as dt
from contextlib import asynccontextmanager
from typing import Annotated, Literal

import msgspec
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from insiderwatch.alerts import read_alert_history
from insiderwatch.contract import TABLES, Alert
from insiderwatch.errors import InsiderwatchError
from insiderwatch.investigate.timeline import timeline
from insiderwatch.web import unmask_routes
from insiderwatch.web.body import BodyError, body_lines
from insiderwatch.web.console import mount_console
from insiderwatch.web.models import (
    AlertLineOut,
    AlertOut,
    BatchOut,
    EventsAccepted,
    Health,
    LineOut,
    Problem,
    TimelineEntryOut,
    TimelineOut,
)
from insiderwatch.web.readers import Stopping
from insiderwatch.web.service import Service
from insiderwatch.web.unavailable import OPS_UNAVAILABLE, ops_unavailable, retry_later
from insiderwatch.web.writer import Busy

_bearer = HTTPBearer(auto_error=False, description="A collector or a reader token.")
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
Table = Literal[tuple(TABLES)]  # type: ignore[valid-type]

_REFUSALS = {
    401: {"model": Problem, "description": "No valid token."},
    422: {"model": Problem, "description": "Invalid parameters."},
    503: OPS_UNAVAILABLE,
}


def _unauthorized(what: str) -> HTTPException:
    return HTTPException(401, f"a valid {what} token is required",
                         headers={"WWW-Authenticate": "Bearer"})  # fmt: skip


def _ops(fn, *args):
    """Ask the operational store; when it cannot answer, the request is refused with 503
    and Retry-After (the client retries; nothing is half done)."""
    try:
        return fn(*args)
    except Exception as exc:
        raise ops_unavailable(exc) from None


def create_app(service: Service, *, run_service: bool = True) -> FastAPI:
    """The app over ``service``; it starts and stops the service with the server unless
    ``run_service`` is False (the caller runs it, across several app lifetimes)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if not run_service:
            yield
            return
        service.start()
        try:
            yield
        finally:
            await asyncio.to_thread(service.stop)

    app = FastAPI(
        title="insiderwatch",
        version="1",
        description="Collects access events, detects misuse of customer data live, serves "
        "alerts and timelines.",
        lifespan=lifespan,
    )

    @app.exception_handler(HTTPException)
    async def _problem(_request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code >= 400:
            service.metrics.requests_refused.labels(str(exc.status_code)).inc()
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(Stopping)
    async def _stopping(request: Request, exc: Stopping) -> JSONResponse:
        return await _problem(request, retry_later(str(exc)))

    def collector(token: Token) -> str:
        source = token and _ops(service.ops.collector_source, token.credentials)
        if not source:
            raise _unauthorized("collector")
        return source

    def reader(token: Token) -> str:
        name = token and _ops(service.ops.reader_name, token.credentials)
        if not name:
            raise _unauthorized("reader")
        return name

    app.include_router(unmask_routes.router(service, reader))

    @app.post(
        "/v1/events",
        status_code=202,
        response_model=EventsAccepted,
        responses={
            **_REFUSALS,
            400: {"model": Problem, "description": "Body not JSON, gzip or UTF-8."},
            422: {"model": Problem, "description": "Invalid parameters, or a batch that failed."},
            413: {"model": Problem, "description": "Body over max_request_bytes."},
            415: {"model": Problem, "description": "Unsupported type or encoding."},
            503: {"model": Problem, "description": "Writer or operational store busy: retry."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                },
            }
        },
    )
    async def post_events(
        request: Request,
        source: Annotated[str, Depends(collector)],
        table: Annotated[Table, Query(description="Contract table of the records.")] = "access",
    ) -> EventsAccepted:
        """Load records (NDJSON or a JSON array, gzip accepted); bad lines become dead
        letters and are listed with their reason."""
        limit = service.settings.max_request_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, f"body is larger than max_request_bytes ({limit} bytes)")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                raise HTTPException(413, f"body is larger than max_request_bytes ({limit} bytes)")
        try:
            lines = body_lines(
                bytes(data),
                request.headers.get("content-type"),
                request.headers.get("content-encoding"),
                limit,
            )
        except BodyError as exc:
            raise HTTPException(exc.status, exc.detail) from None
        try:
            future = service.writer.ingest(table, f"http:{source}", lines)
        except Busy as exc:
            raise retry_later(f"busy: {exc}") from None
        try:
            result = await asyncio.wrap_future(future)
        except InsiderwatchError as exc:
            raise HTTPException(422, str(exc)) from None
        return EventsAccepted(
            lines=len(result.lines),
            accepted=result.count("accepted"),
            duplicates=result.count("duplicate"),
            rejected=result.count("rejected"),
            problems=[LineOut(**msgspec.structs.asdict(r)) for r in result.lines if r.reasons],
            batch=BatchOut(
                source=result.batch.source, id=result.batch.batch_id, requests=result.requests
            ),
        )

    @app.get("/v1/alerts", response_model=list[AlertOut], responses=_REFUSALS)
    def list_alerts(
        _who: Annotated[str, Depends(reader)],
        severity: Annotated[list[Literal["low", "medium", "high", "critical"]], Query()] = [],  # noqa: B006
        employee: Annotated[str | None, Query(description="An employee pseudonym.")] = None,
        state: Annotated[str | None, Query(description="Triage state.")] = None,
        since: Annotated[dt.datetime | None, Query(description="Detected at or after.")] = None,
        min_score: Annotated[float, Query(ge=0, le=100)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[AlertOut]:
        """Alerts as they stand now, highest score first, each with its triage state and
        its whole history; an alert appears once the operational store holds it."""
        alerts = _alerts(service)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        picked = [
            a
            for a in alerts
            if (not severity or a.severity in severity)
            and (employee is None or a.employee == employee)
            and (state is None or a.state == state)
            and (since is None or a.detected_at >= since)
            and a.score >= min_score
        ]
        picked.sort(key=lambda a: (-a.score, a.detected_at, a.alert_id))
        return picked[:limit]

    @app.get(
        "/v1/alerts/{alert_id}",
        response_model=AlertOut,
        responses={**_REFUSALS, 404: {"model": Problem, "description": "No such alert."}},
    )
    def get_alert(alert_id: str, _who: Annotated[str, Depends(reader)]) -> AlertOut:
        """One alert with its triage state and history (404 until the operational store
        holds it)."""
        for alert in _alerts(service, alert_id):
            return alert
        raise HTTPException(404, f"no alert {alert_id}")

    @app.get(
        "/v1/employees/{employee}/timeline",
        response_model=TimelineOut,
        responses={**_REFUSALS, 404: {"model": Problem, "description": "No such employee."}},
    )
    def employee_timeline(
        employee: str,
        who: Annotated[str, Depends(reader)],
        since: Annotated[dt.datetime | None, Query()] = None,
        until: Annotated[dt.datetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
    ) -> TimelineOut:
        """An employee's accesses (by pseudonym) with the cases open for them; the read is
        written to the audit log first."""
        with service.reading() as store:
            employee_id = service.pseudonyms.resolve(store, employee)
            if employee_id is None:
                raise HTTPException(404, f"no employee {employee}")
            _ops(service.ops.audit_read, who, "timeline", employee_id)  # no record, no data
            entries = timeline(store, employee_id, _utc(since), _utc(until), limit)
        return TimelineOut(
            employee=employee,
            entries=[
                TimelineEntryOut(**{k: getattr(e, k) for k in TimelineEntryOut.model_fields})
                for e in entries
            ],
        )

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """Liveness: the writer runs; how much waits for it."""
        return service.health()

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    def metrics() -> Response:
        """Prometheus metrics."""
        service.metrics.queue_depth.set(service.writer.pending)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # The investigation console: HTML pages at /, the JSON API stays under /v1.
    mount_console(app, service, service.ops.store)
    return app


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _alerts(service: Service, alert_id: str | None = None) -> list[AlertOut]:
    with service.reading() as store:
        history = read_alert_history(store)
    by_id: dict[str, list[Alert]] = {}
    for line in history:
        if alert_id is None or line.alert_id == alert_id:
            by_id.setdefault(line.alert_id, []).append(line)
    # Only alerts the ops store holds, so that every listed alert can be triaged: a live
    # step writes the analytics store first and publishes the new lines there after it.
    states = _ops(service.ops.alert_states, list(by_id)) if by_id else {}
    return [_alert_out(service, lines, states[i]) for i, lines in by_id.items() if i in states]


def _alert_out(service: Service, lines: list[Alert], state: str) -> AlertOut:
    lines = sorted(lines, key=lambda a: a.revision)
    now = lines[-1]
    return AlertOut(
        alert_id=now.alert_id,
        employee=service.pseudonyms.of(now.employee_id),
        state=state,
        score=now.score,
        severity=now.severity,
        opened_at=now.opened_at,
        detected_at=now.detected_at,
        summary=now.summary,
        history=[
            AlertLineOut(**{k: getattr(a, k) for k in AlertLineOut.model_fields}) for a in lines
        ],
    )
