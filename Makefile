# Loupe: `make run` starts the server, `make test` runs every test.
# Both install what is missing (Debian packages, test clients) first.

BUILD_DIR   ?= build/release
LOUPE_BIN   := $(BUILD_DIR)/loupe
JOBS        ?= $(shell nproc)

.PHONY: all deps build run test unit-test integration-test debug fuzz bench format format-check clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release > /dev/null
	@cmake --build --preset release -j $(JOBS)

run: build
	@$(LOUPE_BIN) serve

unit-test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Every black-box suite embedded, then again on the scale-out backends:
# metadata in a real PostgreSQL, events in ClickHouse (chdb).
integration-test: build
	@tests/run-integration.sh
	@tests/run-scaleout-mode.sh --clickhouse

test: build format-check unit-test fuzz-build integration-test

# Debug build with AddressSanitizer and UndefinedBehaviorSanitizer.
debug: deps
	@cmake --preset debug > /dev/null
	@cmake --build --preset debug -j $(JOBS)
	@cd build/debug && ctest --output-on-failure -j $(JOBS)

# Builds the libFuzzer targets and runs each briefly over its seed corpus.
fuzz-build:
	@LOUPE_WITH_FUZZ=1 scripts/install-deps.sh
	@cmake --preset fuzz > /dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target ingestion_fuzz otlp_fuzz
	@fuzz/run.sh smoke

fuzz: fuzz-build
	@fuzz/run.sh long

bench: build
	@bench/run.sh

format:
	@clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc' 'fuzz/*.cc')

format-check:
	@command -v clang-format > /dev/null || scripts/install-deps.sh
	@clang-format --dry-run --Werror $$(git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc' 'fuzz/*.cc')

clean:
	rm -rf build
