// fuzz_util.h - helpers shared by the libFuzzer targets and tests/test_reliability.c (header-only,
// static inline functions).
//
// fz_tmp_write: writes the input to one temp file per process (reused every run) for readers
//   that take a path; the file lives in a private folder made by mkdtemp in $FUZZ_TMPDIR, else
//   /dev/shm when present (a disk-backed /tmp costs ~5x the executions per second), else
//   $TMPDIR or /tmp; it is created with O_EXCL|O_NOFOLLOW and rewritten through its own
//   descriptor, so no symlink or FIFO planted by anyone else is ever followed; removed at exit.
// fz_wf_fix_crc: on a copy of a weight file, recomputes every tensor CRC and the header CRC
//   wherever the table parses, so that mutations of the config and tensor table reach the
//   model loaders' own validation instead of stopping at the checksum (the raw bytes are
//   fuzzed too, so the CRC checks themselves stay covered).
// fz_raw_and_fixed: runs one(data) on the raw bytes, then on the CRC-fixed copy when it differs.
// Invariants the targets assert (abort() = a crash libFuzzer reports):
//   fz_guard_stdin: stdin is a pipe nobody writes, so a reader that touched it would block until
//     libFuzzer's -timeout reports it (no reader ever reads standard input);
//   fz_check_path_reader: once per process, a path-based reader given a FIFO, a directory or
//     /dev/zero must fail at once (an alarm aborts after 5 s: no reader blocks on a FIFO);
//   fz_wf_assert_loaded: a weight file a model loader accepted has every tensor used and every
//     f32 value finite (loaders refuse extra tensors and NaN/Inf weights, issue 19).
#ifndef HY_FUZZ_UTIL_H
#define HY_FUZZ_UTIL_H

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/wfile.h"  // fz_wf_assert_loaded

static char fz_dir_[512], fz_path_[600];
static int fz_fd_ = -1;

static inline void fz_cleanup_(void) {
    if (fz_path_[0]) unlink(fz_path_);
    if (fz_dir_[0]) rmdir(fz_dir_);
}

// Returns the temp path holding exactly data[0..size), or NULL on an I/O failure.
static inline const char *fz_tmp_write(const char *ext, const uint8_t *data, size_t size) {
    if (fz_fd_ < 0) {
        const char *d = getenv("FUZZ_TMPDIR");
        if (!d || !*d) d = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(fz_dir_, sizeof fz_dir_, "%s/hyfuzz.XXXXXX", d && *d ? d : "/tmp");
        if (!mkdtemp(fz_dir_)) return NULL;
        snprintf(fz_path_, sizeof fz_path_, "%s/input%s", fz_dir_, ext);
        fz_fd_ = open(fz_path_, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fz_fd_ < 0) return NULL;
        atexit(fz_cleanup_);
    }
    if (ftruncate(fz_fd_, 0) != 0) return NULL;
    for (size_t k = 0; k < size;) {
        ssize_t w = pwrite(fz_fd_, data + k, size - k, (off_t)k);
        if (w <= 0) return NULL;
        k += (size_t)w;
    }
    return fz_path_;
}

static inline void fz_guard_stdin(void) {
    static int done;
    int p[2];
    if (done++ || pipe(p) != 0) return;
    dup2(p[0], 0);  // the write end p[1] stays open and silent: a read of stdin blocks
    close(p[0]);
}

static inline void fz_alarm_(int sig) {
    (void)sig;
    abort();  // a reader blocked: report it as a crash
}

// reader(path) returns 0 on success; each of the three non-regular paths must give an error.
static inline void fz_check_path_reader(int (*reader)(const char *path)) {
    static int done;
    if (done++) return;
    char dir[] = "/tmp/hyfuzz.fifo.XXXXXX", fifo[64];
    if (!mkdtemp(dir)) return;
    snprintf(fifo, sizeof fifo, "%s/f", dir);
    if (mkfifo(fifo, 0600) == 0) {
        signal(SIGALRM, fz_alarm_);
        alarm(5);
        if (reader(fifo) == 0 || reader(dir) == 0 || reader("/dev/zero") == 0) abort();
        alarm(0);
        signal(SIGALRM, SIG_DFL);
        unlink(fifo);
    }
    rmdir(dir);
}

static inline uint64_t fz_le_(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static inline void fz_put32_(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

// Walks the HYW1 layout (include/base/wfile.h); stops quietly at the first thing that does not parse.
static inline void fz_wf_fix_crc(uint8_t *b, size_t size) {
    if (size < 68 || memcmp(b, "HYPERWF", 8)) return;
    uint64_t hb = fz_le_(b + 12, 4), nc = fz_le_(b + 48, 4), nt = fz_le_(b + 52, 4);
    if (hb < 68 || hb > size) return;
    size_t end = hb - 4, c = 64;
#define FZ_NEED(n)                           \
    do {                                     \
        if ((uint64_t)(n) > end - c) goto hdr; \
    } while (0)
    for (uint64_t i = 0; i < nc && i < 100000; i++) {
        FZ_NEED(2);
        uint64_t kl = fz_le_(b + c, 2);
        c += 2;
        FZ_NEED(kl + 1);
        c += kl;
        int type = b[c++];
        uint64_t len;
        switch (type) {
        case 1: case 2: len = 8; break;
        case 3: FZ_NEED(4); len = fz_le_(b + c, 4); c += 4; break;
        case 4: case 5: FZ_NEED(4); len = 8 * fz_le_(b + c, 4); c += 4; break;
        default: goto hdr;
        }
        FZ_NEED(len);
        c += len;
    }
    for (uint64_t i = 0; i < nt && i < 100000; i++) {
        FZ_NEED(2);
        uint64_t nl = fz_le_(b + c, 2);
        c += 2;
        FZ_NEED(nl + 2);
        c += nl + 1;
        uint64_t nd = b[c++];
        if (nd > 8) goto hdr;
        FZ_NEED(8 * nd + 20);
        c += 8 * nd;
        uint64_t off = fz_le_(b + c, 8), nb = fz_le_(b + c + 8, 8);
        c += 16;
        if (off <= size && nb <= size - off) fz_put32_(b + c, (uint32_t)crc32(0L, b + off, (uInt)nb));
        c += 4;
    }
#undef FZ_NEED
hdr:
    fz_put32_(b + hb - 4, (uint32_t)crc32(0L, b, (uInt)(hb - 4)));
}

static inline void fz_wf_assert_loaded(const wfile *wf) {
    for (uint32_t i = 0; i < wf->n_tensors; i++) {
        const wf_tensor *t = &wf->tensors[i];
        if (!wf->fetched[i]) abort();  // an unused tensor got through
        if (t->dtype == WF_F32)
            for (uint64_t k = 0; k < t->nbytes / 4; k++)
                if (!isfinite(((const float *)t->data)[k])) abort();
    }
}

// one() on the raw bytes, then on a copy with the CRCs recomputed (when that changed anything).
static inline void fz_raw_and_fixed(const uint8_t *data, size_t size, void (*one)(const uint8_t *, size_t)) {
    one(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return;
    memcpy(copy, data, size);
    fz_wf_fix_crc(copy, size);
    if (size == 0 || memcmp(copy, data, size)) one(copy, size);
    free(copy);
}

#endif
