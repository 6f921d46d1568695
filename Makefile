# hyper - fMRI -> GAN-latent face reconstruction toolkit in C.
#
#   make            build build/hyper (and the static library build/libhyper.a)
#   make test       build and run every unit/golden test (no Python needed)
#   make deps       install the Debian packages the project needs (idempotent, root)
#   make golden     regenerate the committed golden fixtures (needs python3-torch)
#   make bench      benchmarks (C vs PyTorch on this machine)
#   make weights    fetch face-api's trained models (npm) and convert them into weights/
#   make install    PREFIX=/usr/local: bin/hyper, lib/libhyper.{a,so}, include/hyper/, lib/pkgconfig/hyper.pc
#   make test-slurm scripts/sweep.sbatch on a one-node Slurm cluster started for the test (root)
#
# Toggles: DEBUG=1 (-O0 -g), SANITIZE=1 (ASan+UBSan), NO_OMP=1 (no OpenMP), CC=clang, V=1 (show commands),
#          ARCH=native (-march=native: a binary for this CPU only; the default runs on any CPU of its
#          architecture and picks its AVX-512 / AVX2 / generic kernels at run time, see include/nn/cpu.h).

CC      ?= cc
ifeq ($(V),1)
  Q =
else
  Q = @
endif
BUILD   ?= build
# -fPIC: the same objects make the static and the shared library.
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -fPIC -Wall -Wextra -Werror -Iinclude $(shell pkg-config --cflags libpng 2>/dev/null)
LDLIBS  = -lopenblas -lpng -ljpeg -lz -lm -lpthread

ifeq ($(DEBUG),1)
  OPT = -O0 -g
else
  OPT = -O2 -g
endif
ifeq ($(SANITIZE),1)
  OPT += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  BUILD := $(BUILD)-san
endif
ifneq ($(NO_OMP),1)
  OPT += -fopenmp
  LDFLAGS += -fopenmp
else
  OPT += -Wno-unknown-pragmas
endif
# Portable by default: the kernels that need AVX2 or AVX-512 carry target attributes and are
# chosen at run time (src/nn/cpu.c). ARCH=native compiles everything for the building CPU.
ARCH ?=
ifeq ($(ARCH),native)
  ARCHFLAGS = -march=native
  BUILD := $(BUILD)-native
else ifneq ($(ARCH),)
  $(error ARCH=$(ARCH): only ARCH=native (or nothing) is known)
endif
CFLAGS ?=
CFLAGS += $(CFLAGS_BASE) $(OPT) $(ARCHFLAGS)

# OpenBLAS include dir on Debian, for the compiler's target (x86_64-linux-gnu, or aarch64-linux-gnu
# when cross-compiling with CC=aarch64-linux-gnu-gcc; see tests/cross_aarch64.sh)
TRIPLET  := $(shell $(CC) -dumpmachine 2>/dev/null)
BLAS_INC := $(firstword $(wildcard /usr/include/$(TRIPLET)/openblas-pthread /usr/include/openblas /usr/include/$(TRIPLET)))
CFLAGS += -I$(BLAS_INC)

# The library is every role folder but cli/ (see README "Architecture"); the CLI links it.
LIB_DIRS := base nn glm models decoders study
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c))
CMD_SRC  := $(wildcard src/cli/*.c)
HEADERS  := $(wildcard include/*.h include/*/*.h src/*/*.h)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
CMD_OBJ  := $(CMD_SRC:src/%.c=$(BUILD)/obj/%.o)
EX_SRC   := $(wildcard examples/*.c)
EX_BIN   := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all test deps deps-build golden bench clean probe demo demo-bold demo-models valgrind install examples test-slurm weights
all: $(BUILD)/hyper

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# y -= a * x must round like the plain loop on every ISA (include/nn/axpy.h): no FMA contraction.
$(BUILD)/obj/nn/axpy.o: CFLAGS += -ffp-contract=off

# The Adam update loops (src/decoders/adam.c) vectorise only when sqrtf need not set errno and the
# cost model allows a remainder loop (same IEEE operations, same results; updates 2.3x faster).
# Only this file: elsewhere -fno-math-errno would let GCC swap libm calls for less exact vector ones.
$(BUILD)/obj/decoders/adam.o: CFLAGS += -fno-math-errno -fvect-cost-model=dynamic

# The Winograd transforms (src/nn/winograd.c, winograd7.c) are plain loops along rows of tiles, written for the
# vectoriser: -O3 lets it use the strided loads and remainder loops that -O2's cheap model refuses.
$(BUILD)/obj/nn/winograd.o $(BUILD)/obj/nn/winograd7.o: CFLAGS += -O3

$(BUILD)/libhyper.a: $(LIB_OBJ)
	$(Q)ar rcs $@ $^

SOVERSION := $(shell sed -n 's/^\#define HY_VERSION "\([0-9]*\)\..*/\1/p' include/base/common.h)
VERSION   := $(shell sed -n 's/^\#define HY_VERSION "\(.*\)"/\1/p' include/base/common.h)
$(BUILD)/libhyper.so: $(LIB_OBJ)
	$(Q)$(CC) -shared -Wl,-soname,libhyper.so.$(SOVERSION) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The examples are built against the build's static library, as a user would with
# `pkg-config --static`; tests/test_examples.c runs them and checks an installed copy too.
$(BUILD)/examples/%: examples/%.c $(BUILD)/libhyper.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libhyper.a $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/hyper: $(CMD_OBJ) $(BUILD)/libhyper.a
	@echo "  LINK  $@"
	$(Q)$(CC) $(LDFLAGS) $(CMD_OBJ) $(BUILD)/libhyper.a $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libhyper.a | $(BUILD)/tests
	@echo "  TEST  $@"
	$(Q)$(CC) $(CFLAGS) -Itests $< $(BUILD)/libhyper.a $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs check) -o $@

$(BUILD)/tests:
	$(Q)mkdir -p $@

# Runs every test binary (each is a Check suite) from the repo root and prints one
# summary line "N passed, N failed".
test: deps-build
	@$(MAKE) --no-print-directory run-tests

# The golden tests run once per kernel instruction set the CPU supports (HY_ISA=avx512, avx2,
# generic; see include/nn/cpu.h and tests/run_tests.sh).
ISA_TESTS := test_pggan test_pggan_fast test_facenet test_mtcnn test_demo
run-tests: $(BUILD)/hyper $(TEST_BIN) $(EX_BIN)
	@HYPER_BIN=$(BUILD)/hyper HY_ISA_TESTS="$(ISA_TESTS)" tests/run_tests.sh $(TEST_BIN)

examples: $(EX_BIN)

# scripts/sweep.sbatch on a real one-node Slurm started here (tests/slurm.sh; needs root and the
# slurmctld, slurmd, slurm-client and munge packages, else it prints SKIP). Not part of `make
# test`: it starts system daemons. CI runs it.
test-slurm: $(BUILD)/hyper
	@HYPER_BIN=$(BUILD)/hyper bash tests/slurm.sh

# make install PREFIX=DIR: the command, both libraries, the headers (include/hyper/, with the
# umbrella hyper.h) and pkg-config files: hyper.pc (shared library) and hyper-static.pc (links
# libhyper.a and its dependencies). DESTDIR is honoured for packaging.
PREFIX ?= /usr/local
OMP_LIB := $(if $(filter 1,$(NO_OMP)),,-lgomp)
install: $(BUILD)/hyper $(BUILD)/libhyper.a $(BUILD)/libhyper.so
	$(Q)d=$(DESTDIR)$(PREFIX); \
	install -d $$d/bin $$d/lib/pkgconfig $$d/include/hyper && \
	install -m 755 $(BUILD)/hyper $$d/bin/hyper && \
	install -m 644 $(BUILD)/libhyper.a $$d/lib/libhyper.a && \
	install -m 755 $(BUILD)/libhyper.so $$d/lib/libhyper.so.$(VERSION) && \
	ln -sf libhyper.so.$(VERSION) $$d/lib/libhyper.so.$(SOVERSION) && \
	ln -sf libhyper.so.$(VERSION) $$d/lib/libhyper.so && \
	install -m 644 include/hyper.h $$d/include/hyper/hyper.h && \
	for h in $(filter-out include/cli/%,$(wildcard include/*/*.h)); do \
	  install -d $$d/include/hyper/$$(basename $$(dirname $$h)) && install -m 644 $$h $$d/include/hyper/$${h#include/}; \
	done && \
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: hyper' 'Description: face reconstruction from fMRI through the PGGAN latent space' \
	  'Version: $(VERSION)' 'Cflags: -I$${includedir}/hyper' 'Libs: -L$${libdir} -lhyper' \
	  'Libs.private: -lopenblas -lpng -ljpeg -lz -lm -lpthread $(OMP_LIB)' > $$d/lib/pkgconfig/hyper.pc && \
	sed -e 's|^Libs: .*|Libs: $${libdir}/libhyper.a -lopenblas -lpng -ljpeg -lz -lm -lpthread $(OMP_LIB)|' -e '/^Libs.private/d' \
	  $$d/lib/pkgconfig/hyper.pc > $$d/lib/pkgconfig/hyper-static.pc && \
	echo "installed hyper $(VERSION) into $$d (pkg-config: PKG_CONFIG_PATH=$$d/lib/pkgconfig)"

deps:
	@bash .ci/deps.sh

# Only what building and testing need (no Python, no fuzzing tools); a no-op when installed.
deps-build:
	@HY_WITH_PYTHON=0 HY_WITH_FUZZ=0 HY_WITH_SLURM=0 HY_WITH_BROWSER=0 bash .ci/deps.sh >/dev/null

# The same study starting from simulated BOLD runs: simulate --bold, glm, extract --glm, sweep.
demo-bold: deps-build
	@$(MAKE) --no-print-directory $(BUILD)/hyper
	@DEMO_BOLD=1 HYPER=$(BUILD)/hyper bash tests/demo.sh

# face-api's trained face descriptor and age/gender networks (npm @vladmandic/face-api, MIT):
# fetched with npm pack (curl/wget of the same tarball without npm) into build/faceapi/, checked
# against the registry's dist.integrity (sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/
# Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw==, here in hex) and converted by convert/faceapi.py.
FACEAPI_PKG := @vladmandic/face-api@1.7.15
FACEAPI_SHA512 := 5833262b709f34ba3c8f2956a8ca1081fe2722cb773347f3c7576769cf7ac2ffddbcc4cde03c42fcfab50c6b5db83935964b426a64373080d7167beb7474d70f
FACEAPI_WEIGHTS := weights/faceapi_recognition.bin weights/faceapi_agegender.bin
weights: $(FACEAPI_WEIGHTS)
$(FACEAPI_WEIGHTS) &: convert/faceapi.py convert/fetch_faceapi.sh
	@HY_WITH_PYTHON=0 HY_WITH_FUZZ=0 HY_EXTRA_PKGS=python3-numpy bash .ci/deps.sh >/dev/null
	@FACEAPI_PKG=$(FACEAPI_PKG) FACEAPI_SHA512=$(FACEAPI_SHA512) bash convert/fetch_faceapi.sh build/faceapi

# Re-trains the bundled demo models from ../shared/data/celeba10k (CPU: the generator ~15 min, the
# embedder ~20 min by distillation from face-api's descriptor, fetched by `make weights`; see
# weights/README.md), then checks them against PyTorch, measures them and regenerates their golden fixture.
demo-models: $(BUILD)/hyper $(FACEAPI_WEIGHTS)
	/usr/bin/python3 convert/demo/train_demo_generator.py --no-resume --out weights/demo_generator.bin
	/usr/bin/python3 convert/demo/distill_demo_embedder.py --no-resume --threads 1 --out weights/demo_facenet.bin
	/usr/bin/python3 convert/golden/golden_demo.py
	/usr/bin/python3 convert/demo/demo_quality.py
	/usr/bin/python3 convert/demo/embedder_table.py --model "demo FaceNet=weights/demo_facenet.bin@c64:mtcnn"
	/usr/bin/python3 convert/checks/check_demo_models.py --facenet-pt /tmp/demo_facenet_distilled.pt

# Golden tests under valgrind memcheck (HY_ISA=avx2 and generic; see tests/valgrind.sh).
valgrind:
	@bash tests/valgrind.sh

# The study end to end on simulated data (tests/demo.sh); out/demo/results/ holds the report.
demo: deps-build
	@$(MAKE) --no-print-directory $(BUILD)/hyper
	@HYPER=$(BUILD)/hyper bash tests/demo.sh

golden:
	/usr/bin/python3 convert/golden/make_golden.py

bench: $(BUILD)/hyper
	@bash tests/bench/run.sh $(BUILD)/hyper

probe:
	@echo "CC=$(CC) BLAS_INC=$(BLAS_INC)"; pkg-config --modversion check libpng zlib || true

clean:
	rm -rf build build-san build-native build-aarch64

# Fuzzing (clang + libFuzzer): each tests/fuzz/fuzz_*.c for FUZZ_SECONDS seconds.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh
.PHONY: fuzz
