"""Stage 1: the Spark job that turns raw Amazon reviews into a balanced golden sample.

:func:`amazon_sentiment.etl.job.run_etl` is the entry point; the transforms in
:mod:`amazon_sentiment.etl.transforms` are pure DataFrame -> DataFrame functions.
Nothing here starts Spark at import.
"""
