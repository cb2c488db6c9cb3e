# The everyday commands. `make help` lists them; CONTRIBUTING.md explains each.
PYTHON ?= python
AGENTS_DIR ?= $(HOME)/.cache/cafleet-agents
NEWEST_AGENTS_DIR ?= $(HOME)/.cache/cafleet-agents-newest

.PHONY: help install test test-postgres test-real test-real-newest lint fix format typecheck layers docs snapshots bench ci

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

install: ## editable install with the test and lint tools
	$(PYTHON) -m pip install -e '.[test]'

test: ## the fast suite (the README's test command)
	$(PYTHON) -m pytest -n 2

test-postgres: ## the fast suite on PostgreSQL (a throwaway cluster; needs initdb and pg_ctl)
	CAFLEET_TEST_ENGINE=postgresql $(PYTHON) -m pytest -n 2 -m "not sqlite_only and not engine_neutral and not realagents"

test-real: ## end-to-end tests with the real builds of all six coding agents (see .ci/run)
	CAFLEET_REAL_AGENTS_DIR=$(AGENTS_DIR) $(PYTHON) -m pytest -m realagents tests/test_real_agents.py tests/test_real_agents_delivery.py \
		tests/test_real_agents_worktrees.py tests/test_real_agents_limits.py tests/test_real_agents_resume.py \
		tests/test_real_agents_restore.py tests/test_real_agents_usage.py tests/test_real_agents_mixed.py \
		tests/test_real_agents_pane_rows.py

test-real-newest: ## the real-agent suite against the newest published builds of the six agents (not pinned)
	npm install --prefix $(NEWEST_AGENTS_DIR) --no-audit --no-fund --loglevel=error \
		@anthropic-ai/claude-code@latest @openai/codex@latest opencode-ai@latest \
		@google/gemini-cli@latest @qwen-code/qwen-code@latest @mariozechner/pi-coding-agent@latest
	npm ls --prefix $(NEWEST_AGENTS_DIR) --depth=0
	CAFLEET_REAL_AGENTS_DIR=$(NEWEST_AGENTS_DIR) $(PYTHON) -m pytest -m realagents tests/test_real_agents.py \
		tests/test_real_agents_delivery.py tests/test_real_agents_worktrees.py tests/test_real_agents_limits.py \
		tests/test_real_agents_mixed.py tests/test_real_agents_pane_rows.py

lint: layers typecheck ## every gate .ci/run holds: ruff format and check, layer contracts, mypy
	ruff format --check .
	ruff check .

fix: ## let ruff sort imports and apply its safe fixes
	ruff check --fix .

format: ## apply the formatter (the same one `make lint` and pre-commit check)
	ruff format .

typecheck: ## mypy over cafleet/ and screens/
	mypy

layers: ## import contracts: broker, panes and screens stay in their lanes
	lint-imports

docs: ## regenerate docs/cli-reference.md from the click command tree
	$(PYTHON) docs/gen_cli_reference.py

snapshots: ## rewrite the TUI snapshot baselines (then look at them: see CONTRIBUTING.md)
	$(PYTHON) -m pytest tests/test_tui_snapshots.py --snapshot-update

bench: ## whole-process CLI latency and memory
	$(PYTHON) bench/cli_bench.py

ci: ## what CI runs on a fresh machine
	bash .ci/run
