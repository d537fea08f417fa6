SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --warn-undefined-variables --no-builtin-rules

PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := scoring criteria exam_reports compliance audit_referral
PACKAGES := libs/customs_kit libs/customs_protos libs/customs_client $(addprefix services/,$(SERVICES))

.PHONY: help
help: ## Show the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.lock package-lock.json $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PYTHON_BOOT) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv==0.13.9
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	# Generated code lands here later (make proto); the editable install only needs the folder.
	mkdir -p libs/customs_protos/src
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps $(addprefix -e ,$(PACKAGES))
	npm ci --silent --no-audit --no-fund
	touch $@

.PHONY: install
install: $(VENV)/.installed ## Create .venv from the lock files (Python and buf).

.PHONY: proto
proto: install ## Generate Python code from protos/ into libs/customs_protos.
	$(PY) tools/gen_protos.py

# DATABASE=postgresql (the server on 127.0.0.1:5432) or a PostgreSQL URL: one database
# per service there instead of SQLite files; CUSTOMS_DATABASE does the same.
DATABASE ?=
.PHONY: run
run: proto ## Start all five services (SQLite; DATABASE=postgresql or a URL for PostgreSQL; TLS=1: mutual TLS, development CA), print addresses and a token.
	$(PY) tools/run_platform.py $(if $(DATABASE),--database '$(DATABASE)') $(if $(TLS),--tls)

# January takes 5 minutes on 2 cores; the whole quarter (--days 90) about 11, over the
# 10-minute budget, so the default replays January and says so.
DEMO_FLAGS ?= --days 31
.PHONY: demo
demo: proto ## Set up an office, learn 2020, replay January 2021 day by day (DEMO_FLAGS=--days 90: the quarter); report in var/demo/
	PYTHONPATH=tools $(PY) tools/demo.py $(DEMO_FLAGS)

.PHONY: test
test: proto ## Run the whole test suite (unit, integration, contract, e2e).
	status=0; $(PY) -m pytest -n 2 -q || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests"; status=0; fi; \
	exit $$status

BENCH_FLAGS ?=
.PHONY: bench
bench: proto ## Benchmark the engine and scoring on the data set (BENCH_FLAGS=--quick; TEST_POSTGRES_URL for PostgreSQL).
	PYTHONPATH=tools $(PY) bench/run.py $(BENCH_FLAGS)

.PHONY: fuzz
fuzz: proto ## 300 generated requests per RPC of every service, then 10,000 concurrent reads (TEST_POSTGRES_URL for PostgreSQL too).
	FUZZ_EXAMPLES=300 FUZZ_RANDOM=1 $(PY) -m pytest -p no:xdist -q tests/fuzz
	PYTHONPATH=tools $(PY) tests/fuzz/load.py

.PHONY: chaos
chaos: proto ## SIGKILL each service in its own 10,000-declaration stream, restart PostgreSQL under load; print lost, duplicated, recovery.
	CHAOS_DECLARATIONS=10000 CHAOS_STREAM_PER_KILL=1 $(PY) -m pytest -p no:xdist -q -s tests/chaos

.PHONY: lint
lint: proto ## ruff, mypy and buf lint.
	$(VENV)/bin/ruff check libs services tests tools bench
	$(VENV)/bin/ruff format --check libs services tests tools bench
	$(VENV)/bin/mypy libs/customs_kit/src libs/customs_client/src $(addsuffix /src,$(addprefix services/,$(SERVICES)))
	npx --no-install buf lint

.PHONY: clean
clean: ## Remove the virtualenv, generated code and local databases.
	rm -rf $(VENV) node_modules var .run libs/customs_protos/src/customs libs/customs_protos/src/buf
