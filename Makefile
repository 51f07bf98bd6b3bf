# backprop - root Makefile.
#   make                 library (static + shared), the backprop command, examples
#   make REAL=double     the same in float64 (build/double)
#   make test            both precisions, every test, ends with "N passed, N failed"
#   make doctest         the examples of README.md and docs/ (also part of make test)
#   make demo            trains on Fashion-MNIST and shows the result
#   make install PREFIX=/usr/local
#   make SANITIZE=1 ...  AddressSanitizer + UndefinedBehaviorSanitizer build
#   make SANITIZE=thread ...  ThreadSanitizer build (build/float-tsan; tests/tsan.supp)
#   make BLAS=none ...   the library's own GEMM (src/base/gemm_blocked.c) in
#                        place of OpenBLAS: no -lopenblas, no cblas.h
#                        (build/float-noblas, build/double-noblas)
#   make MPI=1 ...       the backprop command for mpirun (build/float-mpi, mpicc):
#                        data-parallel training, docs/DISTRIBUTED.md
#   make fuzz            builds the libFuzzer targets (clang) and runs each for
#                        FUZZ_SECONDS (default 60); docs/ROBUSTNESS.md
#   make embedded-demo   trains 784-64-10 on Fashion-MNIST, exports it as int8 C,
#                        and classifies images on an emulated Cortex-M4 (qemu);
#                        make embedded-bench counts its instructions per MAC
#   make embedded-core   the core (src/base, src/nn) for a Cortex-M4F and a
#                        Cortex-M3 (build/embedded/core-m4, core-m3)
#   make embedded-train-demo  XOR and a fine-tune trained on the emulated M4F
REAL     ?= float
PREFIX   ?= /usr/local
SANITIZE ?= 0
MPI      ?= 0
BLAS     ?= openblas

ifeq ($(REAL),double)
  REAL_DEFS := -DBP_REAL_DOUBLE
else ifeq ($(REAL),float)
  REAL_DEFS :=
else
  $(error REAL must be float or double, not '$(REAL)')
endif

# BLAS=none: the library's own GEMM; its builds never mix with OpenBLAS's.
ifeq ($(BLAS),openblas)
  BLAS_SUFFIX :=
  BLAS_LIBS   := -lopenblas
  BLAS_DEFS   :=
else ifeq ($(BLAS),none)
  BLAS_SUFFIX := -noblas
  BLAS_LIBS   :=
  BLAS_DEFS   := -DBP_NO_BLAS
  # The same bits as the Cortex-M build (make embedded-core): no a*b+c fused
  # into an FMA anywhere, whatever -march allows (C11 mode defaults to off,
  # this says so).
  BLAS_CFLAGS := -ffp-contract=off
else
  $(error BLAS must be openblas or none, not '$(BLAS)')
endif

BUILD := build/$(REAL)$(BLAS_SUFFIX)
ifeq ($(SANITIZE),1)
  BUILD := $(BUILD)-san
  SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else ifeq ($(SANITIZE),thread)
  BUILD := $(BUILD)-tsan
  SAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifneq ($(SANITIZE),0)
  $(error SANITIZE must be 0, 1 or thread, not '$(SANITIZE)')
endif

# What `make test` runs for each SANITIZE.
TEST_BUILDS_0 := build/float$(BLAS_SUFFIX) build/double$(BLAS_SUFFIX)
# AddressSanitizer: float32's whole suite, float64's test programs (:c); the
# scripts drive the same C through the CLI and ctypes (CI time)
TEST_BUILDS_1 := build/float$(BLAS_SUFFIX)-san build/double$(BLAS_SUFFIX)-san:c
# ThreadSanitizer runs float32's test programs (:c): they hold every threaded
# path (two application threads, 1-2 pool threads, split products); the pool and
# its locks are the same code in both precisions, and the scripts run
# single-threaded CLI paths that TSan made 9 minutes long (CI time)
TEST_BUILDS_thread := build/float$(BLAS_SUFFIX)-tsan:c

CC       ?= cc
# The library is the same either way; only cli/ talks to MPI (cli/dist_mpi.c
# instead of cli/dist.c).
ifeq ($(MPI),1)
  BUILD := $(BUILD)-mpi
  CC    := mpicc
  MPI_DEFS := -DBP_MPI
  DIST_SKIP := cli/dist.c
else
  DIST_SKIP := cli/dist_mpi.c
endif
OPT      ?= -O3 -march=native
CPPFLAGS += -Iinclude $(REAL_DEFS) $(BLAS_DEFS) $(MPI_DEFS) -D_POSIX_C_SOURCE=200809L
CFLAGS   += -std=c11 $(OPT) $(BLAS_CFLAGS) -fno-math-errno -g -fPIC -Wall -Wextra -Werror -MMD -MP $(SAN_FLAGS)
LDFLAGS  += $(SAN_FLAGS)
LDLIBS   := $(BLAS_LIBS) -ljansson -lz -lm -lpthread

# src/ is in folders that are the build's feature sets (docs/ARCHITECTURE.md):
# base/ (statuses, memory, the matrix products, the thread pool) and nn/ (the
# network, optimizers, trainer) are the core; data/ (data sets, CSV, IDX,
# encoders), io/ (model files, ONNX, atomic writes) and deploy/ (int8, the C
# export) build on it. Each folder sees the headers of its own and of those
# below it alone, so a stray include from base/ or nn/ into data/ or io/ does
# not compile. FEATURES leaves folders out (e.g. FEATURES="base nn").
FEATURES ?= base nn data io deploy
INC_base   := -Isrc/base
INC_nn     := $(INC_base) -Isrc/nn
INC_data   := $(INC_nn) -Isrc/data
INC_io     := $(INC_data) -Isrc/io
INC_deploy := $(INC_io) -Isrc/deploy
# Tests, benchmarks and tools reach inside every folder.
INC_ALL    := $(INC_deploy)
LIB_SRC  := $(sort $(foreach f,$(FEATURES),$(wildcard src/$(f)/*.c)))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
# The core: models, training and what a model carries, without the data and
# file code, jansson or zlib. tests/test_core_only.c links against it alone.
CORE_SRC := $(sort $(wildcard src/base/*.c src/nn/*.c))
CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)
CORE_LIB := $(BUILD)/libbackprop-core.a
CORE_LDLIBS := $(BLAS_LIBS) -lm -lpthread
CLI_SRC  := $(filter-out $(DIST_SKIP),$(sort $(wildcard cli/*.c)))
CLI_OBJ  := $(CLI_SRC:cli/%.c=$(BUILD)/obj/cli/%.o)
EX_SRC   := $(sort $(wildcard examples/*.c))
EX_BIN   := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Helper programs that tests/*.py drive (built by the tests/% rule, not run as tests).
TOOL_SRC := $(sort $(wildcard tests/tool_*.c))
TOOL_BIN := $(TOOL_SRC:tests/%.c=$(BUILD)/tests/%)
# The C side of the PyTorch conformance suite (tests/reference/, docs/CONFORMANCE.md).
REF_BIN  := $(BUILD)/tests/reference_driver
# bench/*_mpi.c are built by bench/mpi_scaling.sh with mpicc.
BENCH_SRC := $(sort $(filter-out %_mpi.c,$(wildcard bench/*.c)))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

STATIC := $(BUILD)/libbackprop.a
SHARED := $(BUILD)/libbackprop.so
CLI    := $(BUILD)/bin/backprop

.PHONY: python-libs install-python
.PHONY: all lib cli examples tests bench-bin bench deps test conformance demo install clean \
        deps-demo doctest \
        fuzz fuzz-bin fuzz-corpus embedded-demo embedded-bench embedded-core \
        embedded-train-demo
all: deps lib cli examples python-libs

lib: $(STATIC) $(SHARED)
# The Python package (python/backprop, docs/PYTHON.md) loads both precisions.
# After lib: under make -j the sub-make of this build's precision would
# otherwise archive the same library beside this make's own link steps.
python-libs: lib
	$(MAKE) REAL=float SANITIZE=$(SANITIZE) MPI=0 lib
	$(MAKE) REAL=double SANITIZE=$(SANITIZE) MPI=0 lib
cli: $(if $(CLI_SRC),$(CLI))
examples: $(EX_BIN)
tests: $(TEST_BIN) $(TOOL_BIN) $(REF_BIN)
bench-bin: $(BENCH_BIN)

# Installs the Debian packages the build and tests need (as root), or prints
# the exact command and stops. Quick no-op when everything is there.
deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_$(firstword $(subst /, ,$*))) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The own GEMM's order of operations must not depend on the compiler's
# choice to fuse a·b + c (gemm_blocked.c).
$(BUILD)/obj/base/gemm_blocked.o: CFLAGS += -ffp-contract=off

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libbackprop.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CLI): $(CLI_OBJ) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_ALL) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

# Linked against the core alone: a model that links no data or file code.
$(BUILD)/tests/test_core_only: tests/test_core_only.c tests/test.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_nn) $(CFLAGS) $(LDFLAGS) -o $@ $< $(CORE_LIB) $(CORE_LDLIBS)

$(REF_BIN): tests/reference/driver.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_ALL) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INC_ALL) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

# The GEMM candidates of issue 25 add libxsmm (libxsmm-dev) and BLIS
# (libblis-dev) where their headers exist; the library never links them.
# After LDLIBS: OpenBLAS keeps the cblas_sgemm that bp__gemm calls. Not with
# BLAS=none: libxsmm's fallbacks need a BLAS's sgemm_ and dgemm_.
CAND_XSMM := $(if $(and $(wildcard /usr/include/libxsmm.h),$(filter-out none,$(BLAS))),-DBP_BENCH_LIBXSMM,)
CAND_BLIS := $(if $(wildcard /usr/include/*/blis.h /usr/include/blis.h),-DBP_BENCH_BLIS,)
$(BUILD)/bench/bench_gemm_x86: bench/bench_gemm_x86.c $(wildcard bench/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CAND_XSMM) $(CAND_BLIS) $(INC_ALL) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) \
	    $(LDLIBS) $(if $(CAND_XSMM),-lxsmm -ldl -lrt) $(if $(CAND_BLIS),-lblis)

# Both precisions, then every test of each; the runner prints the totals.
# With mpicc (the deps step installs OpenMPI) the MPI command of each is
# built too, for tests/test_mpi.sh.
test: deps
	$(MAKE) REAL=float SANITIZE=$(SANITIZE) BLAS=$(BLAS) lib cli examples tests bench-bin
	$(MAKE) REAL=double SANITIZE=$(SANITIZE) BLAS=$(BLAS) lib cli examples tests bench-bin
	$(if $(filter 0,$(SANITIZE)),if command -v mpicc >/dev/null; then \
	    $(MAKE) REAL=float MPI=1 BLAS=$(BLAS) cli && $(MAKE) REAL=double MPI=1 BLAS=$(BLAS) cli; fi)
	@scripts/run-tests.sh $(TEST_BUILDS_$(SANITIZE))

# The PyTorch conformance suite alone, in both precisions (also part of make test).
conformance: deps
	$(MAKE) REAL=float build/float$(BLAS_SUFFIX)/tests/reference_driver
	$(MAKE) REAL=double build/double$(BLAS_SUFFIX)/tests/reference_driver
	BP_BUILD=build/float$(BLAS_SUFFIX) /usr/bin/python3 tests/test_conformance.py
	BP_BUILD=build/double$(BLAS_SUFFIX) /usr/bin/python3 tests/test_conformance.py

# Speed beside PyTorch (bench/run.py) and inference beside onnxruntime
# (bench/infer.py), as ratios; REPEATS=3 rounds by default. First the
# library's own GEMM (BLAS=none's kernel) beside OpenBLAS (bench/bench_gemm.c),
# then the training GEMM candidates of issue 25 (bench/bench_gemm_x86.c).
bench: deps
	$(MAKE) REAL=float bench-bin
	build/float$(BLAS_SUFFIX)/bench/bench_peak
	build/float$(BLAS_SUFFIX)/bench/bench_gemm $(or $(GEMM_ROUNDS),15)
	build/float$(BLAS_SUFFIX)/bench/bench_gemm_x86 $(or $(CAND_ROUNDS),5)
	/usr/bin/python3 bench/run.py build/float$(BLAS_SUFFIX) $(or $(REPEATS),3)
	/usr/bin/python3 bench/infer.py build/float$(BLAS_SUFFIX) $(or $(REPEATS),3)
	$(MAKE) python-libs
	PYTHONPATH=python /usr/bin/python3 bench/python_sklearn.py $(or $(REPEATS),3)

# The demo installs only what it needs (scripts/deps.sh demo): no test tools, no npm.
demo: lib cli examples
	@scripts/demo.sh $(BUILD)
lib cli examples: $(if $(filter demo,$(MAKECMDGOALS)),deps-demo)
deps-demo:
	@scripts/deps.sh demo

# Every example of README.md and docs/*.md, run as shown (tests/test_doctest.py,
# markers in docs/ROBUSTNESS.md "Doc tests"); make test runs it in build/float.
doctest: deps
	$(MAKE) REAL=float lib cli examples python-libs
	BP_BUILD=build/float /usr/bin/python3 tests/test_doctest.py

# ------------------------------------------------------------ embedded
# examples/embedded/: a model trained and exported here, cross-compiled for a
# Cortex-M4F with Debian's gcc-arm-none-eabi + picolibc, run under qemu
# (mps2-an386) with semihosting: main's return value is qemu's exit status.
EMB       := build/embedded
EMB_CLI   := build/float/bin/backprop
ARM_CC    ?= arm-none-eabi-gcc
ARM_M4    := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
ARM_LINK  := --specs=picolibc.specs --oslib=semihost --crt0=hosted \
             -Wl,--defsym=__flash=0x0 -Wl,--defsym=__flash_size=0x400000 \
             -Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x200000
QEMU_M4   := qemu-system-arm -M mps2-an386 -cpu cortex-m4 -nographic \
             -semihosting-config enable=on,target=native

$(EMB)/fm.safetensors: | deps
	$(MAKE) REAL=float lib cli
	@mkdir -p $(@D)
	$(EMB_CLI) train --data fashion-mnist --test fashion-mnist:test --layers 784,64,10 \
	    --epochs 5 --batch 128 --seed 1 --quiet --save $@

$(EMB)/fm.c: $(EMB)/fm.safetensors
	$(EMB_CLI) export --model $< --format c --output $@ --quantize int8 \
	    --calibrate fashion-mnist --test fashion-mnist:test

$(EMB)/fmf.c: $(EMB)/fm.safetensors
	$(EMB_CLI) export --model $< --format c --output $@

$(EMB)/images.h: examples/embedded/make_images.c $(EMB)/fm.safetensors
	$(CC) $(CPPFLAGS) $(INC_ALL) -std=c11 -O2 -o $(EMB)/make_images $< build/float/libbackprop.a $(LDLIBS)
	$(EMB)/make_images fashion-mnist:test 8 > $@

$(EMB)/demo.elf: examples/embedded/main.c $(EMB)/fm.c $(EMB)/images.h
	$(ARM_CC) $(ARM_M4) -std=c99 -Os -Wall -Wextra -Werror -I$(EMB) $(ARM_LINK) \
	    -o $@ $< $(EMB)/fm.c -lm

# bench.elf: the M4's DSP path (SMLAD); bench-portable.elf: the portable C on the same core.
$(EMB)/bench.elf: examples/embedded/bench.c examples/embedded/icount.h $(EMB)/fm.c $(EMB)/fmf.c $(EMB)/images.h
	$(ARM_CC) $(ARM_M4) -Os -Wall -Wextra -Werror -I$(EMB) $(ARM_LINK) \
	    -o $@ $< $(EMB)/fm.c $(EMB)/fmf.c -lm

$(EMB)/bench-portable.elf: examples/embedded/bench.c examples/embedded/icount.h $(EMB)/fm.c $(EMB)/fmf.c $(EMB)/images.h
	$(ARM_CC) $(ARM_M4) -U__ARM_FEATURE_DSP -Os -Wall -Wextra -Werror -I$(EMB) $(ARM_LINK) \
	    -o $@ $< $(EMB)/fm.c $(EMB)/fmf.c -lm

embedded-demo: $(EMB)/demo.elf
	$(QEMU_M4) -kernel $< </dev/null

embedded-bench: $(EMB)/bench.elf $(EMB)/bench-portable.elf $(EMB)/train-bench-m4.elf $(EMB)/train-demo-m4.elf
	@echo "Cortex-M4, int8 with the DSP extension (SMLAD):"
	@$(QEMU_M4) -icount shift=0 -kernel $(EMB)/bench.elf </dev/null
	@echo "Cortex-M4, portable C (-U__ARM_FEATURE_DSP):"
	@$(QEMU_M4) -icount shift=0 -kernel $(EMB)/bench-portable.elf </dev/null
	@echo "Cortex-M4F, training with the core (make embedded-core):"
	@$(QEMU_M4) -icount shift=0 -kernel $(EMB)/train-bench-m4.elf </dev/null
	@echo "The training core's share of the fine-tune demo (make embedded-train-demo):"
	@/usr/bin/python3 scripts/map_share.py $(EMB)/train-demo-m4.map libbackprop-core.a
	@arm-none-eabi-size -A $(EMB)/train-demo-m4.elf | grep -E '^\.(data|bss|tbss|stack) '

# The library's core (src/base, src/nn) bare-metal: one archive per core,
# Cortex-M4F (hard float) and Cortex-M3 (soft float), picolibc, no threads,
# no BLAS, no files. -ffp-contract=off as in the host's BLAS=none build: the
# two give the same bits (tests/test_device_train.py).
ARM_M3    := -mcpu=cortex-m3 -mthumb
QEMU_M3   := qemu-system-arm -M mps2-an385 -cpu cortex-m3 -nographic \
             -semihosting-config enable=on,target=native
EMB_CORE_CFLAGS := -std=c11 -Os -ffp-contract=off -fno-math-errno -ffunction-sections \
             -fdata-sections -Wall -Wextra -Werror -MMD -MP --specs=picolibc.specs \
             -Iinclude -Isrc/base -Isrc/nn -DBP_NO_THREADS -DBP_NO_BLAS -D_POSIX_C_SOURCE=200809L \
             -DBP_GEMM_PANELS=2 -DBP_NO_HEAP
EMB_CORE_M4 := $(CORE_SRC:src/%.c=$(EMB)/core-m4/%.o)
EMB_CORE_M3 := $(CORE_SRC:src/%.c=$(EMB)/core-m3/%.o)

$(EMB)/core-m4/%.o: src/%.c
	@mkdir -p $(@D)
	$(ARM_CC) $(ARM_M4) $(EMB_CORE_CFLAGS) -c $< -o $@

$(EMB)/core-m3/%.o: src/%.c
	@mkdir -p $(@D)
	$(ARM_CC) $(ARM_M3) $(EMB_CORE_CFLAGS) -c $< -o $@

$(EMB)/core-m4/libbackprop-core.a: $(EMB_CORE_M4)
	rm -f $@ && arm-none-eabi-ar rcs $@ $^

$(EMB)/core-m3/libbackprop-core.a: $(EMB_CORE_M3)
	rm -f $@ && arm-none-eabi-ar rcs $@ $^

embedded-core: $(EMB)/core-m4/libbackprop-core.a $(EMB)/core-m3/libbackprop-core.a

-include $(EMB_CORE_M4:.o=.d) $(EMB_CORE_M3:.o=.d)

# Training on the device: XOR from scratch, then the embedded-demo's model
# fine-tuned on shifted images (examples/embedded/train_demo.c).
$(EMB)/train_data.h: examples/embedded/make_train_data.c $(EMB)/fm.safetensors
	$(CC) $(CPPFLAGS) $(INC_ALL) -std=c11 -O2 -o $(EMB)/make_train_data $< build/float/libbackprop.a $(LDLIBS)
	$(EMB)/make_train_data $(EMB)/fm.safetensors > $@

$(EMB)/train-demo-m4.elf: examples/embedded/train_demo.c $(EMB)/train_data.h $(EMB)/core-m4/libbackprop-core.a
	$(ARM_CC) $(ARM_M4) -std=c11 -Os -ffp-contract=off -Wall -Wextra -Werror -Iinclude -I$(EMB) \
	    $(ARM_LINK) -Wl,--gc-sections -Wl,-Map=$(EMB)/train-demo-m4.map -o $@ $< \
	    $(EMB)/core-m4/libbackprop-core.a -lm

$(EMB)/train-bench-m4.elf: examples/embedded/train_bench.c examples/embedded/icount.h $(EMB)/core-m4/libbackprop-core.a
	$(ARM_CC) $(ARM_M4) -std=c11 -Os -ffp-contract=off -Wall -Wextra -Werror -Iinclude -Isrc/base \
	    -DBP_NO_THREADS -DBP_NO_BLAS $(ARM_LINK) -Wl,--gc-sections -o $@ $< $(EMB)/core-m4/libbackprop-core.a -lm

embedded-train-demo: $(EMB)/train-demo-m4.elf
	$(QEMU_M4) -kernel $< </dev/null

install: lib cli
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/backprop.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libbackprop.so.0
	ln -sf libbackprop.so.0 $(DESTDIR)$(PREFIX)/lib/libbackprop.so
	$(if $(CLI_SRC),install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|0.1.0|' -e 's|@CFLAGS@|$(REAL_DEFS)|' \
	    -e 's|@BLAS_LIBS@|$(BLAS_LIBS)|' \
	    backprop.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/backprop.pc
	$(MAKE) install-python

# The Python package, with both precisions' libraries beside it (backprop/lib/).
PYDIR ?= $(PREFIX)/lib/python3/dist-packages
install-python: python-libs
	install -d $(DESTDIR)$(PYDIR)/backprop/lib/float $(DESTDIR)$(PYDIR)/backprop/lib/double
	install -m 644 python/backprop/*.py $(DESTDIR)$(PYDIR)/backprop/
	install -m 755 build/float$(BLAS_SUFFIX)/libbackprop.so $(DESTDIR)$(PYDIR)/backprop/lib/float/
	install -m 755 build/double$(BLAS_SUFFIX)/libbackprop.so $(DESTDIR)$(PYDIR)/backprop/lib/double/

clean:
	rm -rf build

# ------------------------------------------------------------------ fuzzing
# The library again, built by clang with coverage for libFuzzer and ASan +
# UBSan; one program per reader (tests/fuzz/fuzz_*.c). Each runs FUZZ_SECONDS
# on a working corpus in build/fuzz*/ seeded from tests/fuzz/corpus_*/ (which
# it never writes); a crash stops `make fuzz` and leaves crash-* in the
# current directory.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_RUNS    ?= -1
FUZZ_TARGETS := modelfile csv idx onnx
FUZZ_DIR     := build/fuzz$(if $(filter double,$(REAL)),-double)
FUZZ_CFLAGS  := -std=c11 -O2 -g -fno-math-errno -Wall -Wextra -Werror -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ     := $(LIB_SRC:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
# Per run: no input may make a reader allocate more than this in one block.
FUZZ_OPTS    ?= -malloc_limit_mb=256 -print_final_stats=1

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(INC_$(firstword $(subst /, ,$*))) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(CPPFLAGS) $(INC_ALL) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz-bin:
	@scripts/deps.sh fuzz
	$(MAKE) $(FUZZ_BIN)

fuzz: fuzz-bin
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus_$$t && \
	    echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	    $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) $(FUZZ_OPTS) \
	        -dict=tests/fuzz/$$t.dict $(FUZZ_DIR)/corpus_$$t tests/fuzz/corpus_$$t || exit 1; \
	done

# Regenerates the seed corpora (both precisions' model files).
fuzz-corpus:
	$(MAKE) REAL=float lib && $(MAKE) REAL=double lib
	mkdir -p $(FUZZ_TARGETS:%=tests/fuzz/corpus_%)
	for r in float double; do \
	    $(CC) $(CPPFLAGS) $(INC_ALL) $$([ $$r = double ] && echo -DBP_REAL_DOUBLE) -std=c11 -o build/$$r/gen_corpus \
	        tests/fuzz/gen_corpus.c build/$$r/libbackprop.a $(LDLIBS) && build/$$r/gen_corpus tests/fuzz || exit 1; \
	done

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d)

# ------------------------------------------------------------ playground
# The browser playground (docs/PLAYGROUND.md): the library compiled to
# WebAssembly by Debian's emcc with playground/api.c, plus the page, into a
# static site in build/playground/; `make playground` serves it. jansson and
# zlib come from Debian's source packages (scripts/wasm-deps.sh), compiled
# here: emscripten 3.1.6's frozen cache has no ports. emcc's JS optimizer
# needs acorn from /usr/share/nodejs.
PORT      ?= 8000
EMCC      ?= emcc
WASM      := build/wasm
WASM_DEPS := build/wasm-deps
PG_SITE   := build/playground
PG_EMCC   := NODE_PATH=/usr/share/nodejs $(EMCC)
PG_CFLAGS := -std=c11 -O3 -msimd128 -fno-math-errno -Wall -Wextra -Wno-unused-command-line-argument -Wno-bitwise-instead-of-logical
PG_LIBSRC := $(LIB_SRC)
PG_JSON   := dump error hashtable hashtable_seed load memory pack_unpack strbuffer strconv utf value version
PG_ZLIB   := adler32 crc32 deflate infback inffast inflate inftrees trees zutil gzclose gzlib gzread gzwrite compress uncompr
PG_OBJ    := $(PG_LIBSRC:src/%.c=$(WASM)/obj/%.o) $(WASM)/obj/api.o \
             $(PG_JSON:%=$(WASM)/jansson/%.o) $(PG_ZLIB:%=$(WASM)/zlib/%.o)
PG_INC    := -I$(WASM_DEPS)/jansson/src -I$(WASM_DEPS)/zlib
PG_PAGE   := $(wildcard playground/*.html playground/*.css playground/*.js)
PG_LINK   := -sENVIRONMENT=web -sMODULARIZE=1 -sEXPORT_NAME=createBackprop -sALLOW_MEMORY_GROWTH=1 \
             -sFILESYSTEM=1 -sEXPORTED_FUNCTIONS=_malloc,_free \
             -sEXPORTED_RUNTIME_METHODS=FS,UTF8ToString,stringToUTF8,lengthBytesUTF8
.PHONY: playground playground-site

$(WASM_DEPS)/jansson/src/jansson.h $(WASM_DEPS)/zlib/zlib.h:
	scripts/wasm-deps.sh $(WASM_DEPS)

$(WASM)/jansson/%.o: $(WASM_DEPS)/jansson/src/jansson.h
	@mkdir -p $(@D)
	$(PG_EMCC) -O2 -DHAVE_CONFIG_H -I$(WASM_DEPS)/jansson/src -c $(WASM_DEPS)/jansson/src/$*.c -o $@

$(WASM)/zlib/%.o: $(WASM_DEPS)/zlib/zlib.h
	@mkdir -p $(@D)
	$(PG_EMCC) -O2 -DHAVE_UNISTD_H -DHAVE_STDARG_H -I$(WASM_DEPS)/zlib -c $(WASM_DEPS)/zlib/$*.c -o $@

$(WASM)/obj/%.o: src/%.c | $(WASM_DEPS)/jansson/src/jansson.h $(WASM_DEPS)/zlib/zlib.h
	@mkdir -p $(@D)
	$(PG_EMCC) $(filter-out -DBP_REAL_DOUBLE,$(CPPFLAGS)) -DBP_NO_BLAS $(INC_$(firstword $(subst /, ,$*))) $(PG_INC) $(PG_CFLAGS) -MMD -MP -c $< -o $@

$(WASM)/obj/%.o: playground/%.c | $(WASM_DEPS)/jansson/src/jansson.h $(WASM_DEPS)/zlib/zlib.h
	@mkdir -p $(@D)
	$(PG_EMCC) $(filter-out -DBP_REAL_DOUBLE,$(CPPFLAGS)) -DBP_NO_BLAS $(INC_ALL) $(PG_INC) $(PG_CFLAGS) -MMD -MP -c $< -o $@

$(WASM)/obj/base/gemm_blocked.o: PG_CFLAGS += -ffp-contract=off

$(WASM)/backprop.js: $(PG_OBJ)
	$(PG_EMCC) -O3 $(PG_LINK) -o $@ $^ -lm

playground-site: $(WASM)/backprop.js $(PG_PAGE)
	@rm -rf $(PG_SITE) && mkdir -p $(PG_SITE)
	cp $(PG_PAGE) $(WASM)/backprop.js $(WASM)/backprop.wasm $(PG_SITE)/
	@echo "playground: $(PG_SITE)/ ($$(cat $(PG_SITE)/* | wc -c) bytes)"

playground: deps playground-site
	@echo "playground: http://127.0.0.1:$(PORT)/"
	cd $(PG_SITE) && python3 -m http.server $(PORT) --bind 127.0.0.1

-include $(patsubst %.o,%.d,$(filter $(WASM)/obj/%,$(PG_OBJ)))
