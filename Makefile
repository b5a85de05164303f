# The few commands people type. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV = $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN = $(UV) run --locked --all-extras

.PHONY: help setup demo etl test lint bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## Install uv (if missing), the project and its locked dependencies into .venv
	@./scripts/bootstrap.sh >/dev/null

demo: setup ## Run the whole pipeline on the bundled sample
	$(RUN) amazon-sentiment etl

etl: setup ## Stage 1 only: build the golden sample from the bundled sample
	$(RUN) amazon-sentiment etl

test: setup ## Run the whole test suite (starts its own Spark, MLflow and API servers)
	$(RUN) pytest

lint: setup ## ruff and mypy
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench
	$(RUN) mypy

clean: ## Remove run outputs (keeps .venv)
	rm -rf artifacts mlruns mlartifacts spark-warehouse metastore_db derby.log
