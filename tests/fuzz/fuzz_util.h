// fuzz_util.h - helpers shared by the libFuzzer targets and tests/test_reliability.c (header-only,
// static inline functions).
//
// fz_tmp_write: writes the input to one temp file per process (reused every run) for readers
//   that take a path; the file lives in $FUZZ_TMPDIR, else /dev/shm when present (a disk-backed
//   /tmp costs ~5x the executions per second), else $TMPDIR or /tmp; removed at exit.
// fz_wf_fix_crc: on a copy of a weight file, recomputes every tensor CRC and the header CRC
//   wherever the table parses, so that mutations of the config and tensor table reach the
//   model loaders' own validation instead of stopping at the checksum (the raw bytes are
//   fuzzed too, so the CRC checks themselves stay covered).
// fz_raw_and_fixed: runs one(data) on the raw bytes, then on the CRC-fixed copy when it differs.
#ifndef HY_FUZZ_UTIL_H
#define HY_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char fz_path_[512];

static inline void fz_cleanup_(void) {
    if (fz_path_[0]) unlink(fz_path_);
}

// Returns the temp path holding exactly data[0..size), or NULL on an I/O failure.
static inline const char *fz_tmp_write(const char *ext, const uint8_t *data, size_t size) {
    if (!fz_path_[0]) {
        const char *d = getenv("FUZZ_TMPDIR");
        if (!d || !*d) d = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
        snprintf(fz_path_, sizeof fz_path_, "%s/hyfuzz.%d%s", d && *d ? d : "/tmp", (int)getpid(), ext);
        atexit(fz_cleanup_);
    }
    FILE *f = fopen(fz_path_, "wb");
    if (!f) return NULL;
    if (size && fwrite(data, 1, size, f) != size) {
        fclose(f);
        return NULL;
    }
    if (fclose(f)) return NULL;
    return fz_path_;
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
