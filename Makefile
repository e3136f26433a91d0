# The two commands: `make run` and `make test`. Both install what is missing first.
PY ?= python3
export PYTHON := $(PY)

.PHONY: install run test test-fast bench doctor livekit-server lint clean

install:
	@./scripts/install.sh

run: install
	$(PY) -m onboarding run

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

bench: install
	$(PY) -m bench.voice_bench
	$(PY) -m bench.dashboard_bench
	$(PY) -m bench.api_bench
	$(PY) -m bench.cloud_bench
	$(PY) -m bench.accuracy_bench --callers 2
	$(PY) -m bench.accuracy_bench --typing --callers 1 --voices piper,slt
	$(PY) -m bench.frame_options
	$(PY) -m bench.whisper_speed
	$(PY) -m bench.spelling_stream
	$(PY) -m bench.clip_encoding
	$(PY) -m bench.tts_beside_stt
	$(PY) -m bench.readback_calibration

doctor: install
	$(PY) -m onboarding doctor

livekit-server:
	$(PY) -m onboarding livekit-server

lint:
	$(PY) -m ruff check .

clean:
	rm -rf .cache/stamps data/logs .pytest_cache test-artifacts
