# The two commands a newcomer runs: `make run` and `make test`. Both create .venv when it is
# missing and install the project into it (pins in constraints.txt), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench qt-libs clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

# System libraries Qt needs on a bare Debian machine (installed only when missing).
qt-libs: $(STAMP)
	@bash .ci/qt-libs $(PY)

run: $(STAMP) qt-libs
	$(PY) main.py

# Two worker processes (pytest-xdist), each test isolated (its own tmp paths, settings file and
# forked processes); `TEST_WORKERS=0 make test` runs them in one process, as plain `pytest` does.
# worksteal: a worker that runs out of tests takes some of the other's (the slow ones are uneven).
TEST_WORKERS ?= 2
test: $(STAMP) qt-libs
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache results
