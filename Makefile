# Patient invitations — every command installs what it needs first, so a fresh clone works.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 (as in Lambda): pyenv's, or any python3.13 on PATH.
PY313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
BIN := $(VENV)/bin
# The SAM CLI pins old boto3/pydantic: it lives in its own tool environment, not in the venv.
TOOLS := $(CURDIR)/.tools
SAM := $(TOOLS)/bin/sam
SAM_VERSION := 1.170.0
# AWS's serverless rules (cfn-lint + cfn-lint-serverless) and checkov: tool environments of their
# own too (checkov pins many packages that would clash with the venv's boto3 and pydantic).
CFN_LINT := $(TOOLS)/bin/cfn-lint
CFN_LINT_VERSION := 1.58.0
CFN_LINT_SERVERLESS_VERSION := 0.3.6
CHECKOV := $(TOOLS)/bin/checkov
CHECKOV_VERSION := 3.3.30
# `make dev ALLOWED_ORIGINS=http://localhost:5173`: the AllowedOrigins parameter (CORS) locally.
ALLOWED_ORIGINS ?=
REGION ?= eu-west-3
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup lint typecheck validate template-rules build build-check openapi openapi-check pytest test dev smoke token bench browser clean mutation

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/uv:
	@test -n "$(PY313)" || { echo "Python 3.13 is needed (pyenv install 3.13)"; exit 1; }
	$(PY313) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.installed: $(BIN)/uv requirements-dev.txt layers/shared/requirements.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-dev.txt
	@touch $@

$(SAM):
	UV_TOOL_DIR=$(TOOLS)/uv UV_TOOL_BIN_DIR=$(TOOLS)/bin $(BIN)/uv tool install --quiet --python $(PY313) aws-sam-cli==$(SAM_VERSION)

$(CFN_LINT): | $(BIN)/uv
	UV_TOOL_DIR=$(TOOLS)/uv UV_TOOL_BIN_DIR=$(TOOLS)/bin $(BIN)/uv tool install --quiet --python $(PY313) \
		cfn-lint==$(CFN_LINT_VERSION) --with cfn-lint-serverless==$(CFN_LINT_SERVERLESS_VERSION)

$(CHECKOV): | $(BIN)/uv
	UV_TOOL_DIR=$(TOOLS)/uv UV_TOOL_BIN_DIR=$(TOOLS)/bin $(BIN)/uv tool install --quiet --python $(PY313) \
		checkov==$(CHECKOV_VERSION)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(VENV)/.installed $(SAM) node_modules/.installed ## Install everything (venv, SAM CLI, DynamoDB Local)

browser: ## Install Debian's chromium for the browser tests (if missing)
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.installed ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

validate: $(SAM) ## sam validate --lint
	$(SAM) validate --lint --region $(REGION)

template-rules: $(CFN_LINT) $(CHECKOV) ## AWS's serverless rules (cfn-lint) and checkov, offline: no unwaived finding
	$(CFN_LINT) --regions $(REGION) --append-rules cfn_lint_serverless.rules --template template.yaml
	$(CHECKOV) --file template.yaml --framework cloudformation --skip-download --compact --quiet

build: $(SAM) ## sam build (the layer with Python 3.13)
	PATH="$(dir $(PY313)):$$PATH" $(SAM) build --region $(REGION)

build-check: build $(VENV)/.installed ## The built functions import with only the layer and boto3
	$(BIN)/python -m local.build_check

openapi: $(VENV)/.installed ## Regenerate openapi.json from the code
	$(BIN)/python -m local.openapi --write

openapi-check: $(VENV)/.installed ## Fail if openapi.json drifts from the code
	$(BIN)/python -m local.openapi --check

pytest: setup ## Run the test suite only (two workers: this machine's two cores)
	$(BIN)/pytest -n 2 --dist loadfile

test: setup browser lint validate template-rules openapi-check build-check pytest ## Everything: lint, template and its rules, build, all tests

dev: setup ## Run the whole service locally on http://127.0.0.1:$${PORT:-3000} (ALLOWED_ORIGINS=... for CORS)
	ALLOWED_ORIGINS="$(ALLOWED_ORIGINS)" $(BIN)/python -m local.devserver

smoke: $(VENV)/.installed ## After a deploy: make smoke API_URL=<url> TOKEN=<token> [ACCEPT=1] (not on production)
	@test -n "$(API_URL)" -a -n "$(TOKEN)" || { echo "make smoke API_URL=https://... TOKEN=<a clinician's bearer token> [ACCEPT=1]"; exit 2; }
	$(BIN)/python -m local.smoke --api-url "$(API_URL)" --token "$(TOKEN)" $(if $(ACCEPT),--accept)

token: $(VENV)/.installed ## Print a bearer token: make token SUB=<id> NAME="<name>"
	@$(BIN)/python -m local.token --sub "$(SUB)" --name "$(NAME)"

bench: setup ## Benchmarks: prints a table, writes bench/results.json
	$(BIN)/python -m bench

mutation: $(VENV)/.installed ## Mutation testing (cosmic-ray) of the domain and use cases against the unit suite: survivors and score
	$(BIN)/python -m tests.mutation.run

clean: ## Remove build output and local data
	rm -rf .aws-sam .local
