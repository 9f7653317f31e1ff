# Rodeo — one binary, plain Makefile (no generated build system).
#   make            build build/rodeo
#   make run        install missing Debian packages, build, start `rodeo serve` on $PORT (8000)
#   make test       install test dependencies, build, run unit + end-to-end tests on SQLite and
#                   PostgreSQL, then the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      benchmarks (slow; not part of `make test`)
# Sources are picked up by wildcard: a new module is a new file, not a Makefile edit.

CC      ?= cc
PKGS    := libmicrohttpd jansson sqlite3 libpq hiredis libcurl openssl libargon2 libpng libwebp libexif openblas
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes
# CFLAGS is the user's knob (optimisation, sanitizers); ALL_CFLAGS adds what the build needs.
CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_GNU_SOURCE -fno-strict-aliasing -pthread $(WARN) -Isrc $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -ljpeg -lhpdf -lgumbo -lpthread -lm
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
ALL_CFLAGS += -DRODEO_VERSION='"$(VERSION)"'

SRC      := $(wildcard src/*/*.c)
MAIN_SRC := src/cli/main.c
LIB_SRC  := $(filter-out $(MAIN_SRC),$(SRC))
TEST_SRC := $(wildcard tests/unit/*.c)

# Two build flavours share the rules: build/ (release) and build/asan/ (sanitizers).
B ?= build
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
MAIN_OBJ := $(MAIN_SRC:%.c=$(B)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(B)/obj/%.o)

.PHONY: all run test test-unit test-e2e test-pg test-asan bench deps deps-test clean fmt
all: $(B)/rodeo

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/librodeo.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(B)/rodeo: $(MAIN_OBJ) $(B)/librodeo.a
	@echo "LD $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit_tests: $(TEST_OBJ) $(B)/librodeo.a
	@echo "LD $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test

run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory all
	./build/rodeo serve

# The whole suite: release build on SQLite and PostgreSQL, then the sanitizer build.
test: deps-test
	@$(MAKE) --no-print-directory all build/unit_tests
	@$(MAKE) --no-print-directory B=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" build/asan/rodeo build/asan/unit_tests
	@scripts/test.sh

test-unit: all $(B)/unit_tests
	$(B)/unit_tests

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh

clean:
	rm -rf build
