"""POST /admin/reload: load the version the alias points at now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from amazon_sentiment.serving.dependencies import StateDep, require_admin_key
from amazon_sentiment.serving.routes.responses import BAD_INPUT
from amazon_sentiment.serving.schemas import ErrorOut, ReloadOut

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin_key)],
    responses={
        401: BAD_INPUT[401],
        403: {"model": ErrorOut, "description": "Admin is off: no key configured"},
        409: {"model": ReloadOut, "description": "The new version failed; the old one answers"},
    },
)


@router.post("/reload")
async def reload_model(
    state: StateDep,
    response: Response,
    force: Annotated[bool, Query(description="Reload even if the version is unchanged.")] = False,
) -> ReloadOut:
    """Resolve the alias and swap in its version if new; the old model answers meanwhile."""
    previous = state.models.current
    status = await state.models.reload(force=force)
    current = state.models.current
    if status.outcome == "failed":
        response.status_code = 409
    return ReloadOut(
        outcome="unchanged" if status.outcome == "never" else status.outcome,
        model_version=current.version_label if current else None,
        previous_version=previous.version_label if previous else None,
        error=status.error,
    )
