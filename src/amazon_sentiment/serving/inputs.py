"""Checks of review texts against the limits in settings (types are checked by pydantic)."""

from __future__ import annotations

from amazon_sentiment.serving.errors import ApiError
from amazon_sentiment.settings import Settings


def check_text(text: str, field: str, settings: Settings) -> str:
    if not text.strip():
        raise ApiError(
            422, "INVALID_PARAMETER_VALUE", f"{field} is empty or only whitespace", field=field
        )
    if len(text) > settings.max_text_chars:
        raise ApiError(
            422,
            "INVALID_PARAMETER_VALUE",
            f"{field} has {len(text)} characters, over the limit of {settings.max_text_chars}",
            field=field,
            limit=settings.max_text_chars,
        )
    return text


def check_texts(texts: list[str], field: str, settings: Settings) -> list[str]:
    if not texts:
        raise ApiError(
            422,
            "INVALID_PARAMETER_VALUE",
            f"{field} holds no review; send at least 1",
            field=field,
            limit=1,
        )
    if len(texts) > settings.max_batch_size:
        raise ApiError(
            422,
            "INVALID_PARAMETER_VALUE",
            f"{field} holds {len(texts)} reviews, over the limit of {settings.max_batch_size}",
            field=field,
            limit=settings.max_batch_size,
        )
    for position, text in enumerate(texts):
        check_text(text, f"{field}[{position}]", settings)
    return texts
