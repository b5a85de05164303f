"""MLflow's scoring protocol: POST /invocations, GET /ping, GET /version.

Same request formats and the same ``{"predictions": [...]}`` answer as
``mlflow models serve``, so an MLflow client can point here unchanged. The answer is
what the model's ``predict`` returns: its class for each row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from amazon_sentiment.model import TEXT_COLUMN
from amazon_sentiment.serving.dependencies import ScoringDep, StateDep
from amazon_sentiment.serving.errors import ApiError
from amazon_sentiment.serving.inputs import check_texts
from amazon_sentiment.serving.routes.responses import BAD_INPUT, json_response
from amazon_sentiment.serving.schemas import ScoringIn, ScoringOut

router = APIRouter(tags=["mlflow scoring protocol"])


@router.post("/invocations", responses=BAD_INPUT, response_model=ScoringOut)
async def invocations(request: ScoringIn, scoring: ScoringDep) -> Response:
    """Score rows given as `dataframe_split`, `dataframe_records`, `instances` or `inputs`."""
    state, model = scoring.state, scoring.model
    field, texts = _texts(request)
    check_texts(texts, field, state.settings)
    if len(texts) == 1:
        rows = (await state.scorer.score_one(model, texts[0]))[np.newaxis, :]
    else:
        rows = state.scorer.score_many(model, texts)
    best = rows.argmax(axis=1).tolist()
    return json_response(
        ScoringOut.model_construct(predictions=[model.class_values[i] for i in best])
    )


@router.get("/ping", response_class=PlainTextResponse)
async def ping(state: StateDep) -> PlainTextResponse:
    """200 when a model is loaded, else 404 (as MLflow's scoring server)."""
    loaded = state.models.current is not None
    return PlainTextResponse("\n", status_code=200 if loaded else 404)


@router.get("/version", response_class=PlainTextResponse)
async def mlflow_version() -> PlainTextResponse:
    """The MLflow version this service speaks the protocol of."""
    from importlib.metadata import version

    return PlainTextResponse(version("mlflow"))


def _texts(request: ScoringIn) -> tuple[str, list[str]]:
    given = [
        name
        for name in ("dataframe_split", "dataframe_records", "instances", "inputs")
        if getattr(request, name) is not None
    ]
    if len(given) != 1:
        raise _bad(
            "body",
            "give exactly one of dataframe_split, dataframe_records, instances, inputs "
            f"(got {', '.join(given) or 'none'})",
        )
    field = given[0]
    if request.dataframe_split is not None:
        split = request.dataframe_split
        if TEXT_COLUMN not in split.columns:
            raise _bad(f"{field}.columns", f"needs a {TEXT_COLUMN!r} column, got {split.columns}")
        column = split.columns.index(TEXT_COLUMN)
        texts = []
        for position, row in enumerate(split.data):
            if len(row) != len(split.columns):
                raise _bad(
                    f"{field}.data[{position}]",
                    f"has {len(row)} values for {len(split.columns)} columns",
                )
            texts.append(_as_text(row[column], f"{field}.data[{position}][{column}]"))
        return field, texts
    if request.dataframe_records is not None:
        return field, [
            _as_text(_text_of(record, f"{field}[{position}]"), f"{field}[{position}].text")
            for position, record in enumerate(request.dataframe_records)
        ]
    values = request.instances if request.instances is not None else request.inputs
    if isinstance(values, dict):
        column_values = _text_of(values, field)
        if isinstance(column_values, str):
            column_values = [column_values]
        if not isinstance(column_values, list):
            raise _bad(f"{field}.text", "must be a list of strings")
        return field, [
            _as_text(value, f"{field}.text[{position}]")
            for position, value in enumerate(column_values)
        ]
    assert values is not None
    texts = []
    for position, value in enumerate(values):
        if isinstance(value, dict):
            value = _text_of(value, f"{field}[{position}]")
        texts.append(_as_text(value, f"{field}[{position}]"))
    return field, texts


def _text_of(record: dict[str, Any], field: str) -> Any:
    if TEXT_COLUMN not in record:
        raise _bad(field, f"needs a {TEXT_COLUMN!r} key, got {sorted(record)}")
    return record[TEXT_COLUMN]


def _as_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        raise _bad(field, f"must be a string, got {kind}")
    return value


def _bad(field: str, problem: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", f"{field} {problem}", field=field)
