"""``python -m amazon_sentiment``, and the file to give ``spark-submit``.

``spark-submit`` runs a Python application from a ``.py`` file, not from a console
script, so on a cluster the same commands run as
``spark-submit --master spark://host:7077 <this file> etl --input ... --output ...``
(``python -c "import importlib.util as u; print(u.find_spec('amazon_sentiment.__main__').origin)"``
prints its path). See docs/scale.md.
"""

from amazon_sentiment.cli import app

if __name__ == "__main__":
    app(prog_name="amazon-sentiment")
