# Two commands matter: `make demo` and `make test`. Both build the virtualenv first and
# need nothing but python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= data/demo
DEMO_EMPLOYEES ?= 1000
DEMO_DAYS ?= 30

.PHONY: venv demo test fuzz lint format bench bench-detect bench-replay bench-attribution calibrate-attribution bench-breach bench-ops bench-compact bench-live bench-serve bench-console demo-live docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/insiderwatch simulate --employees $(DEMO_EMPLOYEES) --days $(DEMO_DAYS) --seed 7 \
		--out $(DEMO)/dataset --truth $(DEMO)/truth.json --bad-rows 0.0005
	$(BIN)/insiderwatch ingest $(DEMO)/dataset --db $(DEMO)/insiderwatch.duckdb
	$(BIN)/insiderwatch ingest $(DEMO)/dataset --db $(DEMO)/insiderwatch.duckdb
	$(BIN)/insiderwatch stats --db $(DEMO)/insiderwatch.duckdb
	$(BIN)/insiderwatch rejects --db $(DEMO)/insiderwatch.duckdb --limit 5
	$(BIN)/insiderwatch detect --db $(DEMO)/insiderwatch.duckdb --out $(DEMO)/alerts.jsonl --top 5
	$(BIN)/insiderwatch calibrate --db $(DEMO)/insiderwatch.duckdb --out $(DEMO)/routine-policy.yaml
	$(BIN)/python tools/demo_console.py --db $(DEMO)/insiderwatch.duckdb

# tools/provision.sh installs the system packages the server tests need (or says loudly
# that it cannot); property tests run a bounded, derandomised search when CI is set.
# The suite runs on every core (pytest-xdist); a test module stays on one worker, so its
# module fixtures (simulated companies, detected stores) are built once. The slowest tests
# are listed at the end, to show where the suite's time goes.
PYTEST_JOBS ?= auto
test: $(STAMP)
	tools/provision.sh
	$(BIN)/python -m pytest -q -n $(PYTEST_JOBS) --dist loadscope --durations=25

# A wide random search of every parser's property tests (the fuzz Hypothesis profile).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/test_fuzz.py tests/test_log_sources.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_sources.py
	$(BIN)/python benchmarks/bench_ingest_records.py

# e.g. make bench-detect BENCH_DETECT_ARGS="--employees 2000 --jobs 2"
bench-detect: $(STAMP)
	$(BIN)/python benchmarks/bench_detect.py $(BENCH_DETECT_ARGS)

# e.g. make bench-replay BENCH_REPLAY_ARGS="--employees 500 --days 10 --skip-analyze"
bench-replay: $(STAMP)
	$(BIN)/python benchmarks/bench_replay.py $(BENCH_REPLAY_ARGS)

# e.g. make bench-attribution BENCH_ATTRIBUTION_ARGS="--jobs 2 --events 0" (or "--quick")
bench-attribution: $(STAMP)
	$(BIN)/python benchmarks/bench_attribution.py $(BENCH_ATTRIBUTION_ARGS)

# Refits src/insiderwatch/investigate/calibration.json on companies the benchmark does not use,
# e.g. CALIBRATE_ATTRIBUTION_ARGS="--jobs 2 --work /tmp/calib" (kept: a refit reruns nothing).
calibrate-attribution: $(STAMP)
	$(BIN)/python benchmarks/calibrate_attribution.py $(CALIBRATE_ATTRIBUTION_ARGS)

bench-breach: $(STAMP)
	$(BIN)/python benchmarks/bench_breach.py
	$(BIN)/python benchmarks/bench_evidence.py

# The operational store on SQLite and a private PostgreSQL, beside a bare INSERT.
# The console's alert queue over 100,000 alerts: p50/p95 page renders per company profile,
# e.g. make bench-console BENCH_CONSOLE_ARGS="--alerts 20000 --renders 10"
bench-console: $(STAMP)
	$(BIN)/python benchmarks/bench_console.py $(BENCH_CONSOLE_ARGS)

# Many small HTTP batches: file count and read times before and after compaction,
# e.g. BENCH_COMPACT_ARGS="--events 20000 --request-lines 50"
bench-compact: $(STAMP)
	$(BIN)/python benchmarks/bench_compact.py $(BENCH_COMPACT_ARGS)

bench-ops: $(STAMP)
	tools/provision.sh
	$(BIN)/python benchmarks/bench_ops.py

# The five-minute live demo: a simulated company streams into `insiderwatch serve`, alerts
# appear, a playbook suspends the insider at a real SCIM server after an approval.
demo-live: $(STAMP)
	$(BIN)/python tools/demo_live.py

# HTTP collector throughput and live detection catching up, beside in-process ingest; then
# arrival-to-alert latency of simulated companies streamed over HTTP at several rates.
bench-serve: $(STAMP)
	$(BIN)/python benchmarks/bench_serve.py $(BENCH_SERVE_ARGS)

# Detection off: events/s and arrival-to-commit latency at 2k, 20k and the highest rate
# through collect (NATS), serve's NATS collector and serve's HTTP, beside a bare NATS loop;
# then arrival-to-alert latency through NATS into serve at several rates; e.g.
# BENCH_LIVE_ARGS="--seconds 30", "--paths http --throughput-only" or "--latency-only"
bench-live: $(STAMP)
	tools/provision.sh
	$(BIN)/python benchmarks/bench_live.py $(BENCH_LIVE_ARGS)

docs: $(STAMP)
	$(BIN)/python tools/gen_docs.py

clean:
	rm -rf $(VENV) data build .pytest_cache .hypothesis
