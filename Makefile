# The two commands a fresh Debian 12 machine needs: `make demo` and `make test`.
# Each installs what it needs (scripts/deps.sh, apt-get) and builds first.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build configure test demo bench install deps-build deps-demo deps-test deps-bench clean

all: build

configure:
	@command -v cmake >/dev/null || scripts/deps.sh build
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

deps-build:
	scripts/deps.sh build

deps-demo:
	scripts/deps.sh build demo

deps-test:
	scripts/deps.sh build test

deps-bench:
	scripts/deps.sh build test bench

test: deps-test build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600

demo: deps-demo build
	scripts/demo.sh $(BUILD)

bench: deps-bench build
	/usr/bin/python3 bench/run.py --build $(BUILD)
	/usr/bin/python3 bench/prof.py --build $(BUILD)
	$(BUILD)/bin/bench_pool -count 6 > $(BUILD)/bench_pool.txt
	$(BUILD)/bin/hotpath benchstat -col /impl $(BUILD)/bench_pool.txt
	/usr/bin/python3 bench/gc_run.py --build $(BUILD) --out $(BUILD)/bench_gc.txt
	$(BUILD)/bin/hotpath benchstat -col /impl -filter '-.name:Barrier' $(BUILD)/bench_gc.txt

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
