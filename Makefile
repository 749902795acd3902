# Workbench: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11 + pip).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CHROMIUM ?= /usr/bin/chromium

.PHONY: install test demo demo-batch demo-drama app browser lint clean

install: $(STAMP)

# The whisper extra (faster-whisper: CTranslate2, PyAV, onnxruntime; ~130 MB of wheels, seconds
# to install) is in so the faster-whisper backend runs for real in the tests.
$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,ray,whisper]'
	@touch $(STAMP)

# The browser tests drive Debian's Chromium. Installed with apt only when missing and running
# as root (as in CI); anywhere else the browser tests skip with a message saying why.
browser:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests (apt)"; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium ) >/dev/null 2>&1 \
			|| echo "could not install chromium with apt: the browser tests will be skipped"; \
	fi

test: install browser
	$(BIN)/python -m pytest

demo: install
	$(BIN)/workbench demo

demo-batch: install
	$(BIN)/workbench batch examples/briefs

# The sample drama 《夜渡》 (made offline, cached after the first run), imported as a material
# and made into two packages offline: a cut (切片) and a narrated video (解说) of its highlights.
DEMO_DRAMA_MAKE = --keyword 夜渡迷局 --app 红果短剧 --voice-backend espeak --rewrite-backend rules
demo-drama: install
	@made="$$($(BIN)/workbench drama sample)" && printf '%s\n' "$$made" && \
		added="$$($(BIN)/workbench material add-drama "$$(printf '%s\n' "$$made" | tail -1)")" && \
		printf '%s\n' "$$added" && material="$$(printf '%s\n' "$$added" | tail -1)" && \
		$(BIN)/workbench make --material "$$material" --template cut $(DEMO_DRAMA_MAKE) && \
		$(BIN)/workbench make --material "$$material" --template narrated $(DEMO_DRAMA_MAKE)

app: install
	$(BIN)/python app.py

lint: install
	$(BIN)/ruff check workbench tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
