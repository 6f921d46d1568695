// common.h - status codes, error reporting, checked allocation, atomic output files.
//
// Library functions never exit and never assert on input: they return HY_OK (0) or a
// negative HY_E* code and leave a one-line message in a per-thread buffer that names
// the file and what is wrong (hy_errmsg()). Only src/cli/main.c prints it and exits.
#ifndef HY_COMMON_H
#define HY_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// The release of libhyper and the hyper command (also in hyper.pc, from `make install`).
#define HY_VERSION "0.9.0"

enum {
    HY_OK = 0,
    HY_EIO = -1,      // cannot open/read/write a file
    HY_EFORMAT = -2,  // file content is malformed or unsupported
    HY_ESHAPE = -3,   // shapes/sizes disagree with what is expected
    HY_EVALUE = -4,   // bad numeric value (NaN/Inf, out of range)
    HY_ENOMEM = -5,   // allocation failed or a size limit was exceeded
    HY_EARG = -6,     // bad command-line argument / API misuse
    HY_ECRC = -7,     // checksum mismatch
};

// Set the error message (printf-style). Always returns `code`, so callers can write
//   return hy_err(HY_EFORMAT, "%s: bad magic", path);
int hy_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *hy_errmsg(void);

// Checked allocation: returns NULL and sets the error message on failure.
void *hy_malloc(size_t n);
void *hy_calloc(size_t count, size_t size);
// 64-byte aligned allocation (free with hy_free_aligned / free()).
void *hy_malloc_aligned(size_t n);

// Overflow-safe size arithmetic: return 0 on success, -1 if the result overflows
// (or exceeds `limit` when limit != 0).
int hy_mul_size(size_t a, size_t b, size_t *out);
// Product of dims[0..n) with overflow check; returns -1 on overflow or negative dim.
int hy_prod_dims(const int64_t *dims, int n, size_t *out);

// Reads a whole file into memory (max `limit` bytes; 0 = HY_MAX_FILE_BYTES).
#define HY_MAX_FILE_BYTES ((size_t)16 << 30)
int hy_read_file(const char *path, uint8_t **data, size_t *size, size_t limit);

// zlib's CRC-32 of p[0..n) continuing from crc (0 to start), for any n (zlib takes 32-bit lengths).
uint32_t hy_crc32(uint32_t crc, const void *p, size_t n);

// --- atomic output --------------------------------------------------------------
// Every output file is written to "<path>.tmp.<pid>" and renamed onto <path> only when
// complete, so an interrupted or failing run never leaves a file that looks finished.
typedef struct {
    FILE *fp;
    char path[4096];
    char tmp[4160];
} hy_outfile;
int hy_out_open(hy_outfile *o, const char *path);  // opens tmp for writing ("wb")
int hy_out_commit(hy_outfile *o);                  // fflush+fclose+rename; on error removes tmp
void hy_out_abort(hy_outfile *o);                  // fclose+remove tmp (safe to call twice)

// Creates directory `path` (and parents) if missing; error if it is not writable.
int hy_mkdir_p(const char *path);
int hy_path_exists(const char *path);

// --- misc -----------------------------------------------------------------------
double hy_now(void);  // monotonic seconds
// Progress line on stderr ("label  i/n  [eta]"), throttled; only when stderr is a tty or
// HY_PROGRESS=1. Call with i == n to finish the line.
void hy_progress(const char *label, long i, long n, double t_start);

// Notes: one-line messages for the user that are not errors (warnings, steps of long work).
// The library never writes to stdout/stderr itself: notes go to a sink, by default stderr
// (nothing under --quiet); an application that links the library can set its own.
void hy_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hy_set_note_sink(void (*sink)(const char *line, void *user), void *user);

// --quiet: no progress lines (hy_progress) and no notes; errors still print.
void hy_set_quiet(int quiet);
int hy_quiet(void);

// Number of threads to use for BLAS/OpenMP (set once by the CLI from --threads / HY_THREADS;
// n <= 0 picks the default). HY_MAX_THREADS bounds what a user may ask for.
#define HY_MAX_THREADS 256
void hy_set_threads(int n);
int hy_get_threads(void);

#endif
