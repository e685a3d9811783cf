"""The operator's web interface: probes, read API, control endpoints and the dashboard.

It sees the daemon only through ``DaemonView`` and ``Control`` (see ``grodtd.web.contracts``), so it
never imports an adapter or the composition root, and a test can serve it any object with
those methods. Everything it serves comes from this process: the dashboard's script, styles and
chart library are local files. FastAPI's interactive docs UI loads from a CDN and runs an
inline script, both of which the CSP forbids, so ``/docs`` is a local page that says so and
points to ``/openapi.json``.
"""

import hmac
from importlib import resources
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from grodtd.web.contracts import ControlOutcome, DaemonView, HealthReport, OperatorControl
from grodtd.web.middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from grodtd.web.read_routes import read_routes
from grodtd.web.schemas import (
    ChecksOut,
    ControlIn,
    ControlOut,
    ErrorOut,
    HealthOut,
    health_out,
)

# Only pause and resume take a body (a short JSON object); anything bigger is refused with 413.
MAX_BODY_BYTES = 16 * 1024

_DISABLED = (
    "control is disabled: no control token is configured; set GRODT_CONTROL_TOKEN_FILE "
    "to a file holding the token and restart the daemon"
)
_UNAUTHORIZED = "missing or wrong bearer token; send 'Authorization: Bearer <token>'"


def _health_response(report: HealthReport) -> JSONResponse:
    body = health_out(report)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if report.ok else 503)


def _control_out(
    action: Literal["pause", "resume", "flatten"], outcome: ControlOutcome
) -> ControlOut:
    return ControlOut(
        action=action,
        accepted=True,
        paused=outcome.intent.paused,
        durable=outcome.durable,
        detail=outcome.detail,
    )


def _actor(request: Request, body: ControlIn | None) -> str:
    if body is not None and body.by:
        return body.by
    client = request.client
    return f"api ({client.host})" if client is not None else "api"


def create_app(view: DaemonView, control: OperatorControl, *, control_token: str | None) -> FastAPI:
    """Build the ASGI app; ``control_token`` None disables pause/resume (every call is 401)."""
    app = FastAPI(
        title="GRODT daemon",
        version=view.build_info().version,
        description="Read API, probes and control of the GRODT trading daemon.",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(
        RequestContextMiddleware, logger=structlog.stdlib.get_logger("grodtd.access")
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(_probe_routes(view))
    app.include_router(read_routes(view))
    app.include_router(_control_routes(control, control_token))

    static_dir = resources.files("grodtd.web") / "static"
    index = static_dir / "index.html"
    docs = static_dir / "docs.html"

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(str(index), media_type="text/html; charset=utf-8")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> FileResponse:
        return FileResponse(str(docs), media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    return app


def _probe_routes(view: DaemonView) -> APIRouter:
    """Liveness and readiness for the orchestrator, and both reports for the dashboard."""
    router = APIRouter()
    unhealthy: dict[int | str, dict[str, Any]] = {
        503: {"model": HealthOut, "description": "At least one check failed."}
    }

    @router.get("/health", response_model=HealthOut, responses=unhealthy, tags=["probes"])
    async def health() -> JSONResponse:
        """Liveness: the loop answers and the engine heartbeat is fresh. No dependencies."""
        return _health_response(view.liveness())

    @router.get("/ready", response_model=HealthOut, responses=unhealthy, tags=["probes"])
    def ready() -> JSONResponse:
        """Readiness: config, store, market data, engine, not draining; each with a reason."""
        return _health_response(view.readiness())

    @router.get("/api/v1/checks", response_model=ChecksOut, tags=["read"])
    def checks() -> ChecksOut:
        """Both probe reports, always 200: what the dashboard shows."""
        return ChecksOut(
            liveness=health_out(view.liveness()), readiness=health_out(view.readiness())
        )

    return router


def _control_routes(control: OperatorControl, control_token: str | None) -> APIRouter:
    """Pause and resume, behind the bearer token; every refusal is logged for the audit."""
    router = APIRouter()
    audit_log = structlog.stdlib.get_logger("grodtd.live.control")
    expected = control_token.encode() if control_token else None
    bearer = HTTPBearer(
        auto_error=False,
        scheme_name="controlToken",
        description="The token from GRODT_CONTROL_TOKEN_FILE; needed for control endpoints.",
    )

    def require_token(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        challenge = {"WWW-Authenticate": "Bearer"}
        if expected is None:
            raise HTTPException(401, _DISABLED, headers=challenge)
        given = credentials.credentials.encode() if credentials is not None else b""
        # Constant time, so response timing does not leak how much of a guess was right.
        if not hmac.compare_digest(given, expected):
            audit_log.warning("control_unauthorized", path=request.url.path)
            raise HTTPException(401, _UNAUTHORIZED, headers=challenge)

    control_errors: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorOut, "description": "The body is not valid JSON."},
        401: {"model": ErrorOut, "description": "No or wrong bearer token."},
        413: {"model": ErrorOut, "description": f"The body is over {MAX_BODY_BYTES} bytes."},
    }

    @router.post(
        "/api/v1/control/pause",
        response_model=ControlOut,
        responses=control_errors,
        dependencies=[Depends(require_token)],
        tags=["control"],
    )
    def pause(request: Request, body: Annotated[ControlIn | None, Body()] = None) -> ControlOut:
        """Stop opening positions; exits, stops and targets keep working. Survives restarts."""
        reason = body.reason if body is not None else ""
        return _control_out("pause", control.pause(_actor(request, body), reason))

    @router.post(
        "/api/v1/control/resume",
        response_model=ControlOut,
        responses=control_errors,
        dependencies=[Depends(require_token)],
        tags=["control"],
    )
    def resume(request: Request, body: Annotated[ControlIn | None, Body()] = None) -> ControlOut:
        """Allow entries again and clear latched kill switches."""
        reason = body.reason if body is not None else ""
        return _control_out("resume", control.resume(_actor(request, body), reason))

    @router.post(
        "/api/v1/control/flatten",
        response_model=ControlOut,
        responses=control_errors,
        dependencies=[Depends(require_token)],
        tags=["control"],
    )
    def flatten(request: Request, body: Annotated[ControlIn | None, Body()] = None) -> ControlOut:
        """Pause entries (as pause does), then close every open position at market now, its
        stop and target cancelled. Entries stay paused until a resume."""
        reason = body.reason if body is not None else ""
        return _control_out("flatten", control.flatten(_actor(request, body), reason))

    return router
