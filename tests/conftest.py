"""Shared fixtures live in tests/fixtures/, one module per real component."""

pytest_plugins = [
    "tests.fixtures.processes",
    "tests.fixtures.spark",
    "tests.fixtures.golden_sample",
    "tests.fixtures.mlflow_server",
    "tests.fixtures.serving",
    "tests.fixtures.s3",
    "tests.fixtures.postgres",
    "tests.fixtures.spark_cluster",
]
