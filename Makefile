# The few commands people type. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV = $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN = $(UV) run --locked --all-extras

.PHONY: help setup jars system-packages demo etl test lint bench image clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## Install uv (if missing), the project and its locked dependencies into .venv
	@./scripts/bootstrap.sh >/dev/null

jars: ## Fetch the hadoop-aws jars Spark needs for s3a:// into .cache/jars (once)
	@./scripts/fetch-s3a-jars.sh

demo: setup ## Run the whole pipeline on the bundled sample
	$(RUN) amazon-sentiment etl
	$(RUN) amazon-sentiment train
	UV=$(UV) ./scripts/demo-serve.sh

etl: setup ## Stage 1 only: build the golden sample from the bundled sample
	$(RUN) amazon-sentiment etl

system-packages: ## Debian packages the tests need: PostgreSQL, podman, buildah, debootstrap, wrk
	@./scripts/install-system-packages.sh

test: setup jars system-packages ## Run the whole test suite (starts its own Spark, MLflow, S3 and API servers)
	$(RUN) pytest

lint: setup ## ruff, mypy and hadolint
	$(RUN) ruff check src tests bench
	$(RUN) ruff format --check src tests bench
	$(RUN) mypy
	$(RUN) hadolint Dockerfile

image: ## Build the serving image (a Docker engine, else podman without a daemon)
	./scripts/build-image.sh --target serving --tag amazon-sentiment:latest

clean: ## Remove run outputs (keeps .venv)
	rm -rf artifacts mlruns mlartifacts spark-warehouse metastore_db derby.log
