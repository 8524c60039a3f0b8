# cltower — build, demo and tests.
#
#   make            build build/cltower
#   make demo       install missing system packages, build, synthesize data, train three models, print metrics
#   make test       warnings-as-errors build + unit tests + CLI tests
#   make test-sanitize   the unit tests under ASan+UBSan
#   make test-parity     PyTorch cross-check (installs python3-torch if missing)
#   make bench      benchmarks (see docs/BENCHMARKS.md)
#   make fuzz       libFuzzer targets in build/fuzz/; make fuzz-run FUZZ_SECONDS=600 (docs/FUZZING.md)

CC      ?= gcc
CXX     ?= g++
BUILD   ?= build
PYTHON  ?= /usr/bin/python3

# OpenBLAS built for OpenMP: GEMMs share the program's OpenMP thread pool, and
# a GEMM called inside a parallel region runs single-threaded instead of
# oversubscribing the cores. The rpath pins this variant at run time.
BLAS_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp

WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter -Wvla
# 512-bit vectors where the CPU has them: gcc keeps to 256 bits on AVX-512
# parts by default, and our own kernels (softmax rows, GELU, attention) ran
# 4% faster end to end on a Books-scale epoch with 512 (docs/BENCHMARKS.md).
OPT     ?= -O3 -march=native -fno-math-errno -mprefer-vector-width=512
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -Isrc -I/usr/include/x86_64-linux-gnu/openblas-openmp -fopenmp \
             $(WARN) $(OPT) $(if $(WERROR),-Werror) $(EXTRA_CFLAGS) -MMD -MP
LDLIBS_ALL = -fopenmp -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) $(SERVE_LIBS) -lopenblas -lcjson -lz -lm $(EXTRA_LDFLAGS)

# Serving: libmicrohttpd, and Faiss (a static C++ library, reached only
# through src/serve/faiss_shim.cpp; it needs BLAS/LAPACK from OpenBLAS).
SERVE_LIBS = -lfaiss -lmicrohttpd -lstdc++ -pthread
CXXFLAGS_ALL = -std=c++17 -Isrc -fopenmp -Wall -Wextra -Wno-unused-parameter $(OPT) $(if $(WERROR),-Werror) \
               $(EXTRA_CFLAGS) -MMD -MP

LIB_SRC  := $(sort $(wildcard src/*/*.c))
LIB_CXX  := $(sort $(wildcard src/*/*.cpp))
MAIN_SRC := src/main.c
TEST_SRC := $(sort $(wildcard tests/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LIB_CXX:%.cpp=$(BUILD)/obj/%.o)
MAIN_OBJ := $(MAIN_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)

.PHONY: all demo test test-unit test-cli test-sanitize test-parity bench deps clean format

all: $(BUILD)/cltower

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	@echo "CXX $<"
	@$(CXX) $(CXXFLAGS_ALL) -c $< -o $@

$(BUILD)/libcltower.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/cltower: $(MAIN_OBJ) $(BUILD)/libcltower.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/cltower_tests: $(TEST_OBJ) $(BUILD)/libcltower.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

# System packages (Debian). Installs only what is missing; needs root or sudo.
deps:
	@scripts/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

# The test suite: a warnings-as-errors build, unit tests (gradient checks,
# loaders, metrics, ...; real-data tests skip cleanly when ../shared/data is
# absent) and end-to-end CLI tests.
test:
	@$(MAKE) --no-print-directory BUILD=build/werror WERROR=1 build/werror/cltower build/werror/cltower_tests
	@$(MAKE) --no-print-directory BUILD=build/werror test-unit test-cli

test-unit: $(BUILD)/cltower_tests
	OMP_NUM_THREADS=2 $(BUILD)/cltower_tests

test-cli: $(BUILD)/cltower
	CLTOWER=$(BUILD)/cltower tests/cli/run.sh
	CLTOWER=$(BUILD)/cltower tests/cli/resume.sh
	CLTOWER=$(BUILD)/cltower tests/cli/serve.sh

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
test-sanitize:
	@$(MAKE) --no-print-directory BUILD=build/asan WERROR=1 OPT="-O1 -g" \
	  EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" build/asan/cltower_tests build/asan/cltower
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=2 build/asan/cltower_tests
	ASAN_OPTIONS=detect_leaks=1 CLTOWER=build/asan/cltower CLT_QUICK=1 tests/cli/run.sh
	ASAN_OPTIONS=detect_leaks=1 CLTOWER=build/asan/cltower CLT_QUICK=1 tests/cli/serve.sh

test-parity: $(BUILD)/parity_dump
	@scripts/install-deps.sh --parity
	$(PYTHON) tests/parity/run_parity.py --dump $(BUILD)/parity_dump

bench: all
	bench/core.sh

clean:
	rm -rf build

format:
	clang-format -i src/*/*.c src/*/*.h src/*.c tests/*.c tests/*.h

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

$(BUILD)/bench_sgemm: bench/sgemm_peak.c $(BUILD)/libcltower.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench_gemm_split: bench/gemm_split.c $(BUILD)/libcltower.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench_adam_dense: bench/adam_dense.c $(BUILD)/libcltower.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench_eval_faiss: bench/eval_vs_faiss.c $(BUILD)/libcltower.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/parity_dump: tests/parity/parity_dump.c tests/model_fixture.c tests/gradcheck.c $(BUILD)/libcltower.a
	$(CC) $(CFLAGS_ALL) -Itests -o $@ $^ $(LDLIBS_ALL)

# ---- fuzzing (docs/FUZZING.md): libFuzzer + ASan/UBSan, clang only ----------
# The library sources the targets reach are compiled apart into $(BUILD)/fuzz
# (fuzz/ is outside the LIB_SRC/TEST_SRC wildcards). Needs clang-14 and
# libclang-rt-14-dev (scripts/install-deps.sh --fuzz).
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := seq comirec tmall taobao recbole movielens gz features request
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Isrc -g -O1 -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas $(FUZZ_SAN)
FUZZ_LIB_SRC := $(sort $(wildcard src/util/*.c src/data/*.c)) src/serve/request.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

.PHONY: fuzz fuzz-run
fuzz: $(FUZZ_BINS)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "FUZZCC $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(BUILD)/fuzz/libfuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

# One binary per target: fuzz_request.c, or fuzz_loader.c built for that loader.
FUZZ_LINK = $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DFUZZ_TARGET='"$(@F:fuzz_%=%)"' -o $@ $< \
            $(BUILD)/fuzz/libfuzz.a -lcjson -lz -lm -pthread
$(BUILD)/fuzz/fuzz_request: fuzz/fuzz_request.c $(BUILD)/fuzz/libfuzz.a fuzz/fuzz.h
	$(FUZZ_LINK)
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_loader.c $(BUILD)/fuzz/libfuzz.a fuzz/fuzz.h
	$(FUZZ_LINK)

# Runs every target (or FUZZ_TARGETS="seq gz") for FUZZ_SECONDS each, one at a
# time, on a copy of its corpus; fails if any target crashed.
fuzz-run: fuzz
	FUZZ_BUILD=$(BUILD)/fuzz fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

-include $(FUZZ_LIB_OBJ:.o=.d)
