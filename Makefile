# Chaperone: the two quick-start commands are `make run` and `make test`.
# Everything else here is a convenience over CMake/CTest.

BUILD      ?= build
JOBS       ?= 2
CMAKE_ARGS ?=
CHAPERONE  := $(BUILD)/bin/chaperone

.PHONY: all deps test-deps build run test test-unit test-component test-e2e \
        test-sanitize fuzz bench clean web-assets

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Starts the main job on its embedded default (Ctrl-C stops it cleanly).
run: build
	$(CHAPERONE) up

# Every test: unit, component, end-to-end (kcat, PostgreSQL, Chromium), fuzz smoke.
test: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900
	@$(MAKE) --no-print-directory fuzz

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j$(JOBS)

test-component: build
	cd $(BUILD) && ctest --output-on-failure -L component -j$(JOBS)

test-e2e: test-deps build
	cd $(BUILD) && ctest --output-on-failure -L e2e

# Unit and component tests under ASan+UBSan (CI runs this after `make test`).
test-sanitize: test-deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCHAPERONE_SANITIZE=ON -DCHAPERONE_BENCH=OFF >/dev/null
	cmake --build build-asan -j$(JOBS) --target unit_tests dashboard_tests component_tests chaperone
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -L 'unit|component' -j$(JOBS)

# Each libFuzzer target for a bounded number of runs, from the checked-in seed corpus.
FUZZ_RUNS ?= 200000
fuzz: test-deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHAPERONE_FUZZ=ON -DCHAPERONE_TESTS=OFF \
	  -DCHAPERONE_BENCH=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target $$(cd fuzz && ls *_fuzz.cc 2>/dev/null | sed 's/\.cc$$//')
	@for f in fuzz/*_fuzz.cc; do n=$$(basename $$f .cc); corpus=fuzz/corpus/$$n; \
	  mkdir -p build-fuzz/work/$$n; \
	  echo "fuzz: $$n ($(FUZZ_RUNS) runs)"; \
	  build-fuzz/bin/$$n -artifact_prefix=build-fuzz/work/$$n- -runs=$(FUZZ_RUNS) -max_len=4096 -print_final_stats=0 build-fuzz/work/$$n $$corpus >build-fuzz/work/$$n.log 2>&1 \
	    || { tail -50 build-fuzz/work/$$n.log; exit 1; }; done

# Only the dashboard (npm build + embedding), e.g. after editing web/dashboard/src.
web-assets: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) --target chaperone_dashboard

bench: build
	@for b in $(BUILD)/bin/*_bench; do echo "== $$b"; $$b; done

clean:
	rm -rf $(BUILD) build-asan build-fuzz
