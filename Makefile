# Two commands: `make run` and `make test`. Everything else is set up on demand.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTOS := $(wildcard proto/billing/v1/*.proto)
STUBS  := gen/billing/v1/.stamp
TOOLS  := $(VENV)/.protoc-tools

.PHONY: run test proto bench clean

run: $(STAMP)
	$(VENV)/bin/billing serve

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

proto: $(STUBS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# The stubs exist before the editable install, so it maps the generated
# `billing` package (gen/billing) next to domain/, service/ and projections/.
$(STAMP): pyproject.toml $(STUBS)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(TOOLS): | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet 'grpcio-tools>=1.66,<2' 'googleapis-common-protos>=1.63,<2'
	touch $@

$(STUBS): $(PROTOS) tools/gen_proto.py | $(TOOLS)
	rm -rf gen/billing
	$(PY) tools/gen_proto.py
	touch $@

clean:
	rm -rf $(VENV) gen build *.egg-info
