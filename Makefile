# commandcenter: two commands, `make run` and `make test`, from a fresh clone.
# Everything they need is made on the way: .venv (Python >= 3.12, see
# scripts/find-python), system packages (scripts/sysdeps), translations.
#
# Variables (make VAR=value ...):
#   ARGS               arguments for main.py:      make run ARGS="--help"
#   PYTEST_ARGS        arguments for pytest:       make test PYTEST_ARGS="-k store -x"
#   SEED               replay a random test order: make test SEED=1234
#   MODULES            core modules to mutate:     make mutate MODULES="sla lifecycle"
#   PYTHON             interpreter to build .venv with (default: searched)
#   SYSDEPS_INSTALL    0 = never apt-get install, only report (default 1 as root)
#   SYSDEPS_MOSQUITTO  1 = `make test` also needs the mosquitto MQTT broker

SHELL := /bin/sh
.DEFAULT_GOAL := help

VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.stamp
ARGS      ?=
PYTEST_ARGS ?=
MODULES   ?=
SYSDEPS_INSTALL   ?= 1
# The MQTT feed tests (tests/test_mqtt.py) start a real Mosquitto broker on 127.0.0.1.
SYSDEPS_MOSQUITTO ?= 1
export VENV SYSDEPS_INSTALL SYSDEPS_MOSQUITTO
ifdef PYTHON
export PYTHON
endif

.PHONY: help run test lint bench mutate venv sysdeps sysdeps-run sysdeps-test clean package package-test

# A fresh stamp does not help if .venv's interpreter is < 3.12 or gone (base
# Python removed, venv remade by hand): then rebuild it whatever the stamp says.
ifneq ($(filter-out help clean,$(MAKECMDGOALS)),)
ifneq ($(shell VENV=$(VENV) scripts/venv --check && echo ok),ok)
.PHONY: $(STAMP)
endif
endif

help: ## show this help
	@echo "make run    start the app (demo county when no feed is given); ARGS=..."
	@echo "make test   ruff, import contracts, pytest (offscreen); PYTEST_ARGS=..."
	@echo "Other targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(firstword $(MAKEFILE_LIST))

$(STAMP): pyproject.toml scripts/venv scripts/find-python
	@scripts/venv

venv: $(STAMP) ## create/update .venv (Python >= 3.12) with pip install -e '.[dev]'

sysdeps-run: $(STAMP) ## check/install system packages for `make run`
	@scripts/sysdeps run

sysdeps-test: $(STAMP) ## check/install system packages for `make test`
	@scripts/sysdeps test

sysdeps: $(STAMP) ## check/install system packages for both
	@scripts/sysdeps all

run: $(STAMP) sysdeps-run ## start the app: main.py $(ARGS)
	$(VPY) main.py $(ARGS)

lint: $(STAMP) ## ruff check and import-linter contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: export QT_QPA_PLATFORM := offscreen
test: $(STAMP) sysdeps-test lint ## lint, then pytest offscreen: $(PYTEST_ARGS)
	@seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "pytest in random order, seed $$seed (replay: make test SEED=$$seed)"; \
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p randomly --randomly-seed=$$seed \
		$(PYTEST_ARGS) || \
		{ rc=$$?; echo "failed with seed $$seed: make test SEED=$$seed"; exit $$rc; }

mutate: $(STAMP) ## mutation testing of the core, per module (not part of test); MODULES=...
	nice -n 15 $(VPY) scripts/mutate.py $(MODULES)

bench: $(STAMP) ## run the benchmarks (python -m bench), print a table
	$(VPY) -m bench

# The installer (docs/install.md): PyInstaller is pinned under the 'package' extra and
# installed into .venv only for these targets, so `make test` stays as it was.
PKG_STAMP := $(VENV)/.stamp-package

$(PKG_STAMP): $(STAMP) pyproject.toml
	$(VPY) -m pip install --quiet -e '.[dev,package]'
	@touch $@

package: $(PKG_STAMP) sysdeps-run ## build the bundle and the .deb into build/package/
	VENV=$(VENV) packaging/build

package-test: package ## install the .deb (root), start it headless on the demo, remove it
	scripts/package-test

clean: ## remove .venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .import_linter_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
