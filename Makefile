# The two commands of the README: `make run` and `make test`.
JOBS ?= $(shell nproc)

.PHONY: all deps deps-test build build-asan run test unit fuzz format format-check bench bench-sites clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS) -- --no-print-directory

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSETEC_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS) -- --no-print-directory

run: build
	@scripts/dev-run.sh

test: deps-test
	@scripts/run-tests.sh

# The fuzz level of `make test` alone, longer: FUZZ_TIME seconds per target
# (FUZZ_MERGE=1 merges new coverage into tests/fuzz/corpus).
FUZZ_TIME ?= 60
fuzz: deps-test
	@FUZZ_TIME=$(FUZZ_TIME) scripts/run-fuzz.sh

format:
	@cmake --build build --target format

format-check:
	@git ls-files 'src/*.[ch]' 'tests/*.[ch]' | xargs -r clang-format --dry-run --Werror

bench: build
	@scripts/install-deps.sh bench
	@bench/run.sh

bench-sites: build
	@SETEC_BIN=$(CURDIR)/build/setec-manager bench/sites.sh

clean:
	rm -rf build build-asan build-fuzz
