// testutil.h - shared helpers for the Check-based tests (header-only).
//
// Each tests/test_*.c builds into its own binary and ends with TEST_MAIN(suite_fn).
// Tests run from the repository root. HYPER_BIN names the CLI binary (default build/hyper).
#ifndef HY_TESTUTIL_H
#define HY_TESTUTIL_H

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>  // test_bilevel_png

#include "base/common.h"  // hy_errmsg
#include "nn/cpu.h"       // hy_isa_init

// HY_ISA (see include/nn/cpu.h) picks the kernels a test binary runs; an ISA this CPU cannot
// run ends the binary with exit status 77 and a SKIP line (tests/run_tests.sh runs the golden
// tests once per ISA and counts such a run as skipped), an unknown name with status 2.
#define TEST_MAIN(suite_fn)                                         \
    int main(void) {                                                \
        if (hy_isa_init() != HY_OK) {                               \
            const int known_ = hy_isa_parse(getenv("HY_ISA")) >= 0; \
            printf("%s%s\n", known_ ? "SKIP " : "", hy_errmsg());   \
            return known_ ? 77 : 2;                                 \
        }                                                           \
        SRunner *sr = srunner_create(suite_fn());                   \
        srunner_run_all(sr, CK_NORMAL);                             \
        int nf = srunner_ntests_failed(sr);                         \
        srunner_free(sr);                                           \
        return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;               \
    }

// Prints a visible skip line (run_tests.sh echoes lines starting with SKIP).
#define TEST_SKIP(...)                                              \
    do {                                                            \
        printf("SKIP %s: ", __func__);                              \
        printf(__VA_ARGS__);                                        \
        printf("\n");                                               \
        fflush(stdout);                                             \
        return;                                                     \
    } while (0)

static inline const char *hyper_bin(void) {
    const char *b = getenv("HYPER_BIN");
    return b ? b : "build/hyper";
}

// Makes a fresh temporary directory, removed again when the test process exits. The
// returned string is heap memory the caller may free (or not: it stays reachable, so
// LeakSanitizer does not count it).
#define TEST_MAX_TMPDIRS 256
static char test_tmpdirs_[TEST_MAX_TMPDIRS][32];
__attribute__((used)) static char *test_tmpdir_ptrs_[TEST_MAX_TMPDIRS];  // keeps them reachable
static int test_ntmpdirs_;
static inline void test_tmpdir_cleanup_(void) {
    for (int i = 0; i < test_ntmpdirs_; i++) {
        char cmd[96];
        snprintf(cmd, sizeof cmd, "rm -rf '%.40s'", test_tmpdirs_[i]);
        if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", test_tmpdirs_[i]);
    }
    test_ntmpdirs_ = 0;
}
static inline char *test_tmpdir(void) {
    char *t = strdup("/tmp/hytest.XXXXXX");
    if (!mkdtemp(t)) { free(t); return NULL; }
    if (test_ntmpdirs_ == 0) atexit(test_tmpdir_cleanup_);
    if (test_ntmpdirs_ < TEST_MAX_TMPDIRS) {
        snprintf(test_tmpdirs_[test_ntmpdirs_], sizeof test_tmpdirs_[0], "%s", t);
        test_tmpdir_ptrs_[test_ntmpdirs_++] = t;
    }
    return t;
}

// Runs `hyper <args>` via the shell, captures stderr+stdout into *out (malloc'd, may be
// NULL), returns the exit status (or -1).
static inline int run_hyper(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int run_hyper(char **out, const char *fmt, ...) {
    char args[8192], cmd[9000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", hyper_bin(), args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    if (out) *out = buf; else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

// Number of entries in a directory other than . and .. (-1 if it cannot be read).
static inline int dir_count(const char *path) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", path);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    int n = -1;
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
    return n;
}

// A 1-bit gray PNG of w x h zero pixels, compressed at level 9, in memory.
static inline uint8_t *test_bilevel_png(uint32_t w, uint32_t h, size_t *len) {
    const size_t row = 1 + (w + 7) / 8, raw_n = row * h;
    uint8_t *raw = calloc(raw_n, 1);
    uLongf zn = compressBound(raw_n);
    uint8_t *z = malloc(zn);
    if (compress2(z, &zn, raw, raw_n, 9) != Z_OK) abort();
    free(raw);
    uint8_t *png = malloc(zn + 128);
    size_t k = 0;
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    k = 8;
    const uint8_t ihdr[13] = {w >> 24, w >> 16, w >> 8, w, h >> 24, h >> 16, h >> 8, h, 1, 0, 0, 0, 0};
    struct {
        const char *type;
        const uint8_t *d;
        size_t n;
    } ch[3] = {{"IHDR", ihdr, 13}, {"IDAT", z, zn}, {"IEND", NULL, 0}};
    for (int c = 0; c < 3; c++) {
        const size_t n = ch[c].n;
        uint8_t *p = png + k;
        p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16), p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
        memcpy(p + 4, ch[c].type, 4);
        if (n) memcpy(p + 8, ch[c].d, n);
        uLong crc = crc32(0, p + 4, (uInt)(4 + n));
        p[8 + n] = (uint8_t)(crc >> 24), p[9 + n] = (uint8_t)(crc >> 16), p[10 + n] = (uint8_t)(crc >> 8),
        p[11 + n] = (uint8_t)crc;
        k += 12 + n;
    }
    free(z);
    *len = k;
    return png;
}

#endif
