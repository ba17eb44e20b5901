# The two commands of the README:
#   make run   - install what is missing, build (Release) and run the service
#   make test  - install what is missing, build and run the whole test suite,
#                twice: optimised, and with AddressSanitizer + UBSan
JOBS ?= $(shell nproc)
RELEASE_DIR := build/release
ASAN_DIR := build/asan
CMAKE_COMMON := -G Ninja -DAA_WERROR=ON

.PHONY: all deps service build run test test-release test-asan fuzz bench clean format

all: build

deps:
	@./scripts/install-deps.sh

$(RELEASE_DIR)/build.ninja:
	cmake -S . -B $(RELEASE_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Release

$(ASAN_DIR)/build.ninja:
	cmake -S . -B $(ASAN_DIR) $(CMAKE_COMMON) -DCMAKE_BUILD_TYPE=Debug -DAA_SANITIZE=ON -DAA_BENCH=OFF

# `make run` builds only what it runs (the service), not the test suite.
service: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS) --target asterisk-api

build: deps $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS)

run: service
	./$(RELEASE_DIR)/asterisk-api

test-release: build
	ctest --test-dir $(RELEASE_DIR) --output-on-failure -j $(JOBS)

test-asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

test: test-release test-asan

# A long fuzzing campaign (the same fuzzers `make test` runs briefly), under
# AddressSanitizer + UBSan. FUZZ_ITERATIONS per fuzzer; FUZZ_SEED to vary it.
FUZZ_ITERATIONS ?= 200000
FUZZ_SEED ?= 1
fuzz: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS) --target test_fuzz
	AA_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) AA_FUZZ_SEED=$(FUZZ_SEED) AA_SHARED_DIR=$(CURDIR)/../shared \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ./$(ASAN_DIR)/test_fuzz

bench: build
	./bench/run.sh $(RELEASE_DIR)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
