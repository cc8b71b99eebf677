# Diagnostic territorial du logement d'insertion — commandes du projet.
# `make run` et `make test` suffisent sur une machine neuve : chaque cible installe ce qui lui manque.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-installed
# Local folder holding the official files under their published names (offline transport).
SHARED_DATA ?= $(wildcard ../shared/data)
export DIAG_SOURCE_DIR ?= $(if $(SHARED_DATA),$(abspath $(SHARED_DATA)),)
HOST ?= 127.0.0.1
PORT ?= 8501
# Debian packages: Chromium for the PDF reports (WeasyPrint is the fallback), the end-to-end tests
# and screenshots, poppler for PDF checks,
# pango and fonts for WeasyPrint (PDF reports), PostgreSQL/PostGIS for the registry's tests on a
# throw-away server (the registry itself uses SQLite unless DATABASE_URL is set).
APT_PACKAGES := chromium chromium-driver poppler-utils libpango-1.0-0 libpangoft2-1.0-0 \
	fonts-dejavu-core postgresql-15 postgresql-15-postgis-3

.PHONY: install system data run test bench lint import report clean help

help:
	@echo "make run     installe, construit les données et lance l'application (http://$(HOST):$(PORT))"
	@echo "make test    installe, construit les données et lance les tests"
	@echo "make data    construit le stock local (DIAG_SOURCE_DIR=$(DIAG_SOURCE_DIR))"
	@echo "make bench   mesures de temps et de mémoire (lignes « bench nom valeur unité »)"
	@echo "make lint    vérification ruff"
	@echo "make import FILE=chemin/fichier.csv   importe un fichier d'opérateurs"
	@echo "make report TERRITOIRE=dep:59 FORMAT=pdf OUT=rapport_nord.pdf"

install: $(STAMP)

$(STAMP): requirements.txt requirements-rules.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# OpenFisca-France's dated parameters only (its engine wants numpy<2.4): see requirements-rules.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-rules.txt
	@touch $(STAMP)

# System packages (apt-get, as root or through sudo); skipped when already present.
system: $(SYSTEM_STAMP)

$(SYSTEM_STAMP):
	@mkdir -p $(VENV)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
		| grep -q "ok installed" || echo $$p; done); \
	if [ -z "$$missing" ]; then \
		echo "Paquets système déjà présents."; \
	else \
		echo "Installation des paquets Debian : $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $(SYSTEM_STAMP)

# Fetch then build: the connectors obtain Etalab's communes.json (local folder or download) and
# hand it to the reference geography, which never downloads by itself.
data: install
	@etalab=$$($(PY) -m connectors fetch etalab_cog) || etalab=""; \
	$(PY) -m geodata build $${etalab:+--etalab-cog "$$etalab"}
	$(PY) -m connectors refresh $(if $(DIAG_SOURCE_DIR),--from-dir $(DIAG_SOURCE_DIR),)
	$(PY) -m connectors politiques
	$(PY) -m operators demo
	$(PY) -m models build
	$(PY) -m geodata sceller

run: install system data
	$(PY) -m ui.serve --server.address $(HOST) --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: install system data
	$(PY) -m pytest

bench: install system data
	$(PY) -m tests.benchmarks

lint: install
	$(PY) -m ruff check .

import: install
	@test -n "$(FILE)" || { echo "Indiquez le fichier : make import FILE=chemin/fichier.csv"; exit 2; }
	$(PY) -m operators import "$(FILE)"

report: install system data
	@test -n "$(TERRITOIRE)" || { echo "Indiquez le territoire : make report TERRITOIRE=dep:59 FORMAT=pdf OUT=rapport.pdf"; exit 2; }
	$(PY) -m diagnostics report "$(TERRITOIRE)" --format $(or $(FORMAT),pdf) $(if $(OUT),--out "$(OUT)",)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
