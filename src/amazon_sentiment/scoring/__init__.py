"""Batch scoring on Spark: a whole reviews dataset through the production model.

:func:`amazon_sentiment.scoring.job.run_scoring` is the entry point (``amazon-sentiment
score``). The model is resolved and checked once on the driver, shipped to executors
as a broadcast, and applied by a pandas UDF to Arrow batches of texts.
"""
