# Assay: `make demo` to try it, `make test` to test it. Both set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
WORKER_QUEUES ?= ingest,retrieval,generation,judging
WORKER_CONCURRENCY ?= 8
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install services services-stop services-status migrate test demo worker web lint bench reset

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first, so nothing pulls a CUDA build (see README).
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

services: install
	$(MANAGE) services start

services-stop: install
	$(MANAGE) services stop

services-status: install
	$(MANAGE) services status

migrate: services
	$(MANAGE) migrate --noinput

test: services
	$(PY) -m pytest $(PYTEST_ARGS)

# Sets up everything, runs one evaluation end to end, then serves the app with a worker.
demo: migrate
	$(MANAGE) collectstatic --noinput --verbosity 0
	mkdir -p var
	-$(PY) -m celery -A config worker -Q $(WORKER_QUEUES) -P threads -c $(WORKER_CONCURRENCY) -l warning \
		--logfile var/demo-worker.log --pidfile var/demo-worker.pid --detach
	$(MANAGE) demo --wait-for-worker 60
	@echo "Serving Assay on http://$(HOST):$(PORT)/  (log in as demo / demo-password; Ctrl-C stops the web server)"
	# DEBUG off: visitors get Assay's own 404 page, not Django's URL list (WhiteNoise serves the static files).
	trap 'kill $$(cat var/demo-worker.pid 2>/dev/null) 2>/dev/null || true' EXIT; \
		DEBUG=0 $(MANAGE) runserver $(HOST):$(PORT) --noreload

# One worker on every queue (retrieval included), for development; production runs one
# kind of worker per queue group (README, "Running in production").
worker: services
	$(PY) -m celery -A config worker -Q $(WORKER_QUEUES) -P threads -c $(WORKER_CONCURRENCY) -l info

web: migrate
	$(MANAGE) runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# Benchmarks print their figures; docs/benchmarks.md records them (several minutes each).
# BENCH_1M=1 adds retrieval at a million chunks (about 15 minutes on 2 cores).
bench: migrate
	$(PY) benchmarks/ingest_bench.py
	$(PY) benchmarks/retrieval_bench.py --queries 150
	$(if $(BENCH_1M),$(PY) benchmarks/retrieval_bench.py --chunks 1000000 --queries 100)
	$(PY) benchmarks/pipeline_bench.py --latency-ms 500
	$(PY) benchmarks/judge_bench.py --items 128 --latency-ms 500
	$(PY) benchmarks/report_bench.py --questions 500

reset: install
	$(MANAGE) services reset
