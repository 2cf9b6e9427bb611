# coapcast: `make test` sets itself up on a fresh machine (a .venv with pinned packages, and the
# Debian peers the tests use), then runs the suite under CPython and the MicroPython unix port.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-$(shell cksum < requirements-host.txt | cut -d' ' -f1)
MPY_OUT := build/mpy

.PHONY: setup peers runtimes test mpy bench demo deploy clean fuzz soak

setup: $(STAMP) peers runtimes

$(STAMP): requirements-host.txt pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-host.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

peers:
	@bash tools/ensure_peers.sh

# the board runtimes: MicroPython's unix port in 32 bits and a Cortex-M0 firmware run under QEMU, built
# from Debian's source package into build/runtimes (cached; tools/runtimes/build.sh)
runtimes:
	@bash tools/runtimes/build.sh

test: setup
	$(PY) -m pytest host_tests $(PYTEST_ARGS)

mpy: $(STAMP)
	$(PY) tools/mpy.py --out $(MPY_OUT)

bench: setup
	$(PY) tools/bench/run.py

# make fuzz [N=100000]: the mutation fuzzers, N inputs per target (crashes -> build/fuzz/crashes)
N ?= 100000
fuzz: $(STAMP)
	$(PY) -m tools.fuzz --n $(N)

# make soak [N=100000]: fuzzing, faults, memory, load, spoofing; prints the figures (tools/soak/)
soak: setup
	$(PY) -m tools.soak --n $(N)

# make demo [BOARDS=3] [DURATION=30] [PM=0|1|off] [OSCORE=1] [LOSS=0] [DELAY=10] (report: build/demo/report.png)
demo: setup
	$(PY) tools/demo.py

# make deploy BOARD=esp32|rp2040|unix PORT=/dev/ttyUSB0|/dev/ttyACM0|<vboard pty> [CONFIG=file] [TEMPLATE=1] [START=0]
# (config: CONFIG, else boards/$(BOARD)/config.py; TEMPLATE=1 installs boards/common/config_template.py as it is)
BOARD ?= esp32
START ?= 1
deploy: $(STAMP)
	@test -n "$(PORT)" || (echo "usage: make deploy BOARD=esp32|rp2040|unix PORT=<serial device or vboard pty> [CONFIG=...] [TEMPLATE=1]"; exit 2)
	$(PY) tools/deploy.py --board $(BOARD) --port $(PORT) $(if $(CONFIG),--config $(CONFIG)) $(if $(filter 1,$(TEMPLATE)),--template) $(if $(filter 0,$(START)),--no-start)

clean:
	rm -rf build .pytest_cache .hypothesis
