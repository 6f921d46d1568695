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
// Large arrays that are accessed all over (voxel-major data written volume by volume, maps
// written condition by condition): 2 MiB aligned and, where Linux offers it, backed by
// transparent huge pages (madvise), so that scattered accesses do not miss the TLB on every
// 4 KiB page. zero = 1 clears the memory. Free with free().
void *hy_malloc_huge(size_t n, int zero);

// A bump allocator over one hy_malloc_huge block, for many buffers made once and freed together
// (a model's packed weights): taken from huge pages, their first touches cost a few hundred page
// faults instead of tens of thousands (FaceNet: 44,000 in 4 KB pages, a third of `hyper embed`'s
// time on a VM). Only what is used gets memory; the capacity is address space. hy_arena_alloc is
// safe from several threads at once and returns 64-byte aligned memory, or NULL when the block is
// full (callers fall back to their own allocation).
typedef struct {
    char *base;
    size_t cap, used;
} hy_arena;
int hy_arena_init(hy_arena *a, size_t cap);
void *hy_arena_alloc(hy_arena *a, size_t n);  // a may be NULL: returns NULL
int hy_arena_owns(const hy_arena *a, const void *p);
void hy_arena_free(hy_arena *a);

// Overflow-safe size arithmetic: return 0 on success, -1 if the result overflows
// (or exceeds `limit` when limit != 0).
int hy_mul_size(size_t a, size_t b, size_t *out);
// Product of dims[0..n) with overflow check; returns -1 on overflow or negative dim.
int hy_prod_dims(const int64_t *dims, int n, size_t *out);

// --- reading ------------------------------------------------------------------------
// Every reader opens its input through hy_open_read: it never blocks (a FIFO is opened with
// O_NONBLOCK) and refuses anything but a regular file (directory, FIFO, device, socket) with
// a message saying what the path is. Returns a blocking descriptor and the file size.
int hy_open_read(const char *path, int *fd, uint64_t *size);
// The same as a stdio stream ("rb"); NULL with the message set on error.
FILE *hy_fopen_read(const char *path);
// Reads a whole regular file into memory (max `limit` bytes; 0 = HY_MAX_FILE_BYTES).
#define HY_MAX_FILE_BYTES ((size_t)16 << 30)
int hy_read_file(const char *path, uint8_t **data, size_t *size, size_t limit);

// zlib's CRC-32 of p[0..n) continuing from crc (0 to start), for any n (zlib takes 32-bit lengths).
uint32_t hy_crc32(uint32_t crc, const void *p, size_t n);

// --- atomic output --------------------------------------------------------------
// Every output file is written to "<path>.tmp.<pid>" and renamed onto <path> only when
// complete, so an interrupted or failing run never leaves a file that looks finished.
// The temp file is created with O_CREAT|O_EXCL|O_NOFOLLOW (mode 0666 & ~umask) next to the
// target, so a symlink or file planted at that name is never written through; an existing
// target that is not a regular file (directory, device, FIFO, socket) is refused before
// anything is written, and a symlink target is replaced by the new file.
typedef struct {
    FILE *fp;
    char path[4096];
    char tmp[4160];
} hy_outfile;
int hy_out_open(hy_outfile *o, const char *path);  // creates tmp for writing ("wb")
int hy_out_commit(hy_outfile *o);                  // fflush+fclose+rename; on error removes tmp
void hy_out_abort(hy_outfile *o);                  // fclose+remove tmp (safe to call twice)

// Creates directory `path` (and parents) if missing; error if it is not writable.
int hy_mkdir_p(const char *path);

// --- the output journal -----------------------------------------------------------
// So that a command that fails leaves nothing of what it wrote: between start and stop, every
// committed output file and every directory hy_mkdir_p creates is recorded; rollback removes
// the recorded files and then the recorded directories that are empty, newest first, and
// returns how many it removed. hyper's main() starts the journal for every command and rolls
// it back when the command fails; commands whose partial work is meant to survive a failure
// (sweep: finished runs are resumed) stop it. Off by default for other users of the library.
void hy_out_journal_start(void);
void hy_out_journal_stop(void);
size_t hy_out_journal_rollback(void);
int hy_path_exists(const char *path);

// Advisory lock (flock) on `path`, a lock file created if missing (never through a symlink).
// wait = 0: returns 1 at once when another process holds it; wait = 1: blocks until it is free.
// HY_OK: taken, *fd is the descriptor to pass to hy_lock_release (the lock also ends with the
// process, so a killed holder never blocks anyone). Works across processes on local file
// systems; on NFS only where the kernel maps flock to NFS locks (Linux does).
int hy_lock_take(const char *path, int wait, int *fd);
void hy_lock_release(int fd);

// --- misc -----------------------------------------------------------------------
double hy_now(void);  // monotonic seconds
// Progress of long work on stderr, e.g.
//   train linear: loss 0.91234  epoch 150/1500 (10%)  5.6 s elapsed  ETA 50.4 s
// A task is identified by its start time t_start (hy_now() when it began); call with i == n
// (or last = 1) when it ends. On a terminal the line is rewritten in place, at most 5 times a
// second. Otherwise (stderr is a log file, a cluster job) a plain line is printed when at least
// 10 s and 10 % of the work have passed since the previous line, or 10 minutes in any case,
// plus a last line ending in "done" if the task printed any; a task under 10 s prints nothing.
// --quiet silences it; HY_PROGRESS=1 forces the terminal style, HY_PROGRESS=0 turns it off;
// HY_PROGRESS_EVERY=S sets the 10 s (and the 10 minutes to 60 x S).
// hy_progress counts steps of equal cost: ETA = elapsed x (n - i) / i.
void hy_progress(const char *label, long i, long n, double t_start);
// For work of unequal steps: the caller's own fraction done (0..1) and ETA in seconds (< 0:
// not known yet), e.g. from a model of the work left (the sweep weighs trainings by epochs and
// measured cost).
void hy_progress_eta(const char *label, double frac, double eta, int last, double t_start);
// "4.2 s", "3 min 07 s", "2 h 05 min" ("?" for a negative or huge value).
void hy_format_seconds(char *buf, size_t cap, double seconds);

// Notes: one-line messages for the user that are not errors (warnings, steps of long work).
// The library never writes to stdout/stderr itself: notes go to a sink, by default stderr
// (nothing under --quiet); an application that links the library can set its own.
void hy_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hy_set_note_sink(void (*sink)(const char *line, void *user), void *user);

// --quiet: no progress lines (hy_progress) and no notes; errors still print.
void hy_set_quiet(int quiet);
int hy_quiet(void);

// Thread counts (hy_set_threads, hy_get_threads, HY_MAX_THREADS) and their policy: threads.h.
#include "base/threads.h"

#endif
