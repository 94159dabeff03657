# Two commands set everything up on a fresh machine:  `make app`  and  `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PIP     := $(BIN)/pip install --disable-pip-version-check -c constraints.txt
SOURCE  ?= demo
# Debian libraries that the wheels load at import: Open3D (libusb, EGL), OpenCV (libGL), Qt offscreen, and Qt's
# xcb platform plugin for a real display (without them `make app` under X11/Xvfb aborts in Qt's plugin loader).
DEB_PKGS := libusb-1.0-0 libgl1 libegl1 libglib2.0-0 libxkbcommon0 libfontconfig1 libdbus-1-3 \
            libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 \
            libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1

.PHONY: app test system-deps venv clean

app: venv
	$(BIN)/handstream app --source $(SOURCE)

test: venv
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m pytest -q

venv: system-deps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[test]"
	touch $@

# Installs the Debian libraries when any is missing (needs root or sudo; prints what to install otherwise).
system-deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "handstream: please install Debian packages: $$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

clean:
	rm -rf $(VENV) *.egg-info
