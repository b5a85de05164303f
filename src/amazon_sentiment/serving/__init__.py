"""Stage 3: the HTTP service answering with the registry's production model."""

from amazon_sentiment.serving.app import create_app

__all__ = ["create_app"]
