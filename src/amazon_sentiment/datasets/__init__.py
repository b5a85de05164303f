"""Large, realistic review datasets built from real reviews, for scale tests and benchmarks.

:func:`amazon_sentiment.datasets.build.make_dataset` resamples real reviews into an
``amazon-reviews-pds``-shaped Parquet dataset of any size: every text is made of real
sentences taken from reviews with the same star rating. The text is resampled, not
collected; figures measured on it say so.
"""
