// common.c - error messages, checked allocation, whole-file reads, atomic output files and
// the output journal, progress lines. Thread counts are in threads.c. See include/base/common.h.
#include "base/common.h"

#ifndef _OPENMP  // NO_OMP=1 builds: big files are read by one thread
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <errno.h>
#include <math.h>
#include <fcntl.h>    // open flags: O_NONBLOCK for inputs, O_EXCL|O_NOFOLLOW for temp files
#include <pthread.h>  // the journal's lock
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>  // flock
#include <sys/mman.h>  // madvise
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/threads.h"  // hy_get_threads

static _Thread_local char g_err[1024];

int hy_err(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return code;
}

const char *hy_errmsg(void) { return g_err[0] ? g_err : "unknown error"; }

void *hy_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) hy_err(HY_ENOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *hy_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) hy_err(HY_ENOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *hy_malloc_aligned(size_t n) {
    void *p = NULL;
    size_t r = (n + 63) / 64 * 64;
    if (r < n || posix_memalign(&p, 64, r ? r : 64) != 0) {
        hy_err(HY_ENOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    return p;
}

int hy_arena_init(hy_arena *a, size_t cap) {
    memset(a, 0, sizeof *a);
    if (!(a->base = hy_malloc_huge(cap ? cap : 1, 0))) return HY_ENOMEM;
    a->cap = cap;
    return HY_OK;
}

void *hy_arena_alloc(hy_arena *a, size_t n) {
    if (!a || !a->base) return NULL;
    const size_t r = (n + 63) / 64 * 64;
    if (r < n) return NULL;
    const size_t at = __atomic_fetch_add(&a->used, r, __ATOMIC_RELAXED);
    return at <= a->cap && r <= a->cap - at ? a->base + at : NULL;
}

int hy_arena_owns(const hy_arena *a, const void *p) {
    return a && a->base && (const char *)p >= a->base && (const char *)p < a->base + a->cap;
}

void hy_arena_free(hy_arena *a) {
    free(a->base);
    memset(a, 0, sizeof *a);
}

void *hy_malloc_huge(size_t n, int zero) {
    const size_t huge = (size_t)2 << 20;
    size_t r = (n + huge - 1) / huge * huge;
    void *p = NULL;
    if (r < n || posix_memalign(&p, huge, r ? r : huge) != 0) {
        hy_err(HY_ENOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(p, r ? r : huge, MADV_HUGEPAGE);  // advice only: ignored where THP is off
#endif
    if (zero) memset(p, 0, n);
    return p;
}

int hy_mul_size(size_t a, size_t b, size_t *out) {
    if (a && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

int hy_prod_dims(const int64_t *dims, int n, size_t *out) {
    size_t p = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0 || (uint64_t)dims[i] > SIZE_MAX) return -1;
        if (hy_mul_size(p, (size_t)dims[i], &p)) return -1;
    }
    *out = p;
    return 0;
}

// "a directory", "a FIFO", ... for messages about paths that are not regular files.
static const char *file_kind(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

int hy_open_read(const char *path, int *fd_out, uint64_t *size) {
    *fd_out = -1;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return hy_err(HY_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return hy_err(HY_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return hy_err(HY_EIO, "%s: is %s; hyper reads only regular files", path, file_kind(sb.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return hy_err(HY_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    *fd_out = fd;
    *size = sb.st_size < 0 ? 0 : (uint64_t)sb.st_size;
    return HY_OK;
}

FILE *hy_fopen_read(const char *path) {
    int fd;
    uint64_t size;
    if (hy_open_read(path, &fd, &size)) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        hy_err(HY_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    return f;
}

int hy_read_file(const char *path, uint8_t **data, size_t *size, size_t limit) {
    *data = NULL;
    *size = 0;
    if (!limit) limit = HY_MAX_FILE_BYTES;
    int fd;
    uint64_t fsize;
    int r = hy_open_read(path, &fd, &fsize);
    if (r) return r;
    if (fsize > limit) {
        close(fd);
        return hy_err(HY_ENOMEM, "%s: file is %llu bytes, over the limit of %zu", path, (unsigned long long)fsize,
                      limit);
    }
    size_t n = (size_t)fsize;
    // big files on huge pages where the kernel allows it: a 90 MB weight file otherwise takes
    // 23,000 page faults to read
    uint8_t *buf = n + 1 >= ((size_t)4 << 20) ? hy_malloc_huge(n + 1, 0) : hy_malloc_aligned(n + 1);
    if (!buf) {
        close(fd);
        return hy_err(HY_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = 0;
    if (n >= ((size_t)16 << 20) && hy_get_threads() > 1) {
        // Files of 16 MB and more are read by all threads, 8 MB at a time at its offset (pread):
        // the kernel's copy into fresh pages is much of a model's loading, and runs per thread.
        const size_t chunk = (size_t)8 << 20;
        const long nchunks = (long)((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : got)
        for (long c = 0; c < nchunks; c++) {
            const size_t off = (size_t)c * chunk, len = n - off < chunk ? n - off : chunk;
            size_t done = 0;
            while (done < len) {
                ssize_t k = pread(fd, buf + off + done, len - done, (off_t)(off + done));
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) break;
                done += (size_t)k;
            }
            got += done;
        }
    } else {
        while (got < n) {
            ssize_t k = read(fd, buf + got, n - got > (1u << 30) ? (1u << 30) : n - got);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) break;
            got += (size_t)k;
        }
    }
    close(fd);
    if (got != n) {
        free(buf);
        return hy_err(HY_EIO, "%s: read error (got %zu of %zu bytes)", path, got, n);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return HY_OK;
}

// --- atomic output ---------------------------------------------------------------

// --- the output journal ---------------------------------------------------------------
// Paths of files committed and directories created since hy_out_journal_start(), newest last.
static struct {
    int on;
    char **path;
    unsigned char *is_dir;
    size_t n, cap;
    pthread_mutex_t lock;
} g_journal = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void journal_add(const char *path, int is_dir) {
    pthread_mutex_lock(&g_journal.lock);
    if (g_journal.on) {
        if (g_journal.n == g_journal.cap) {
            size_t cap = g_journal.cap ? 2 * g_journal.cap : 64;
            char **p = realloc(g_journal.path, cap * sizeof *p);
            if (p) g_journal.path = p;
            unsigned char *d = p ? realloc(g_journal.is_dir, cap) : NULL;
            if (d) g_journal.is_dir = d;
            if (p && d) g_journal.cap = cap;
        }
        char *copy = g_journal.n < g_journal.cap ? strdup(path) : NULL;
        if (copy) {
            g_journal.path[g_journal.n] = copy;
            g_journal.is_dir[g_journal.n++] = (unsigned char)is_dir;
        }
        // out of memory: the output stays unrecorded (it is complete; only a later failure would leave it)
    }
    pthread_mutex_unlock(&g_journal.lock);
}

static void journal_clear(void) {
    for (size_t i = 0; i < g_journal.n; i++) free(g_journal.path[i]);
    free(g_journal.path);
    free(g_journal.is_dir);
    g_journal.path = NULL;
    g_journal.is_dir = NULL;
    g_journal.n = g_journal.cap = 0;
}

void hy_out_journal_start(void) {
    pthread_mutex_lock(&g_journal.lock);
    journal_clear();
    g_journal.on = 1;
    pthread_mutex_unlock(&g_journal.lock);
}

void hy_out_journal_stop(void) {
    pthread_mutex_lock(&g_journal.lock);
    journal_clear();
    g_journal.on = 0;
    pthread_mutex_unlock(&g_journal.lock);
}

size_t hy_out_journal_rollback(void) {
    pthread_mutex_lock(&g_journal.lock);
    size_t removed = 0;
    // newest first: files inside a created directory go before the directory itself
    for (size_t i = g_journal.n; i-- > 0;)
        removed += (g_journal.is_dir[i] ? rmdir(g_journal.path[i]) : unlink(g_journal.path[i])) == 0;
    journal_clear();
    g_journal.on = 0;
    pthread_mutex_unlock(&g_journal.lock);
    return removed;
}

// --- atomic output ---------------------------------------------------------------

int hy_out_open(hy_outfile *o, const char *path) {
    memset(o, 0, sizeof *o);
    if (strlen(path) >= sizeof o->path) return hy_err(HY_EARG, "%s: path too long", path);
    // The rename at the end would replace a device node or FIFO by a regular file (and fail on a
    // directory after all the work): refuse them now. A symlink to a regular file is replaced
    // by the new file; the file it pointed to is left alone.
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return hy_err(HY_EIO, "%s: exists and is %s; outputs are written only as regular files", path,
                      file_kind(sb.st_mode));
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
    // O_EXCL|O_NOFOLLOW: never write through a symlink (or any file) planted at the temp name
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);  // 0666 & ~umask
    if (fd < 0) {
        int e = errno;
        o->tmp[0] = 0;  // not ours: never remove it
        if (e == EEXIST)
            return hy_err(HY_EIO, "%s: temporary file %s.tmp.%ld already exists (left by a killed run? remove it)",
                          path, path, (long)getpid());
        return hy_err(HY_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    if (!(o->fp = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        remove(o->tmp);
        o->tmp[0] = 0;
        return hy_err(HY_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return HY_OK;
}

int hy_out_commit(hy_outfile *o) {
    if (!o->fp) return hy_err(HY_EIO, "%s: not open", o->path);
    int bad = ferror(o->fp), e = 0;
    if (fflush(o->fp) != 0 && !bad) bad = 1, e = errno;
    if (fclose(o->fp) != 0 && !bad) bad = 1, e = errno;
    o->fp = NULL;
    if (bad) {
        remove(o->tmp);
        o->tmp[0] = 0;
        return hy_err(HY_EIO, "%s: write failed: %s", o->path, e ? strerror(e) : "I/O error");
    }
    if (rename(o->tmp, o->path) != 0) {
        e = errno;
        remove(o->tmp);
        o->tmp[0] = 0;
        return hy_err(HY_EIO, "%s: cannot rename into place: %s", o->path, strerror(e));
    }
    o->tmp[0] = 0;
    journal_add(o->path, 0);
    return HY_OK;
}

void hy_out_abort(hy_outfile *o) {
    if (o->fp) fclose(o->fp);
    o->fp = NULL;
    if (o->tmp[0]) remove(o->tmp);
    o->tmp[0] = 0;
}

// --- advisory locks ------------------------------------------------------------------

int hy_lock_take(const char *path, int wait, int *fd_out) {
    *fd_out = -1;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) return hy_err(HY_EIO, "%s: cannot create lock file: %s", path, strerror(errno));
    while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) return 1;
        return hy_err(HY_EIO, "%s: cannot lock: %s", path, strerror(e));
    }
    *fd_out = fd;
    return HY_OK;
}

void hy_lock_release(int fd) {
    if (fd >= 0) close(fd);  // closing the descriptor drops the flock
}

int hy_path_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

int hy_mkdir_p(const char *path) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) return hy_err(HY_EARG, "%s: path too long", path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) == 0) journal_add(buf, 1);
        else if (errno != EEXIST)
            return hy_err(HY_EIO, "%s: cannot create directory %s: %s", path, buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) == 0) journal_add(buf, 1);
    else if (errno != EEXIST)
        return hy_err(HY_EIO, "%s: cannot create directory: %s", path, strerror(errno));
    struct stat sb;
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return hy_err(HY_EIO, "%s: exists and is not a directory", path);
    if (access(buf, W_OK | X_OK) != 0) return hy_err(HY_EIO, "%s: directory is not writable", path);
    return HY_OK;
}

// --- misc --------------------------------------------------------------------------

double hy_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int g_quiet;
void hy_set_quiet(int quiet) { g_quiet = quiet; }
int hy_quiet(void) { return g_quiet; }

static int g_line_open;  // a terminal progress line is on screen without its newline

static void note_to_stderr(const char *line, void *user) {
    (void)user;
    if (g_line_open) fputc('\n', stderr), g_line_open = 0;  // do not write over the progress line
    fprintf(stderr, "%s\n", line);
}
static void (*g_note_sink)(const char *, void *) = note_to_stderr;
static void *g_note_user;

void hy_set_note_sink(void (*sink)(const char *line, void *user), void *user) {
    g_note_sink = sink ? sink : note_to_stderr;
    g_note_user = user;
}

void hy_note(const char *fmt, ...) {
    if (g_quiet && g_note_sink == note_to_stderr) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    g_note_sink(line, g_note_user);
}

// --- progress -------------------------------------------------------------------------
// One task at a time (a task is identified by its t_start): its printing state.
static struct {
    double t_start, last_t, last_frac;
    int printed;  // lines printed for this task (non-terminal style)
} g_prog = {-1, 0, 0, 0};

// Seconds between plain lines (10; HY_PROGRESS_EVERY=S changes it, e.g. 0 in tests).
static double progress_every(void) {
    static double every = -1;
    if (every < 0) {
        const char *e = getenv("HY_PROGRESS_EVERY");
        char *end;
        double v = e ? strtod(e, &end) : 10;
        every = e && (end == e || *end || !(v >= 0) || v > 1e6) ? 10 : v;
    }
    return every;
}

// 0 off, 1 rewrite one line in place (terminal), 2 plain lines (log file, cluster job).
static int progress_style(void) {
    static int style = -1;
    if (style < 0) {
        const char *e = getenv("HY_PROGRESS");
        if (e && !strcmp(e, "0")) style = 0;
        else if (e && !strcmp(e, "1")) style = 1;
        else style = isatty(2) ? 1 : 2;
    }
    return style;
}

void hy_format_seconds(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 1e9) snprintf(buf, cap, "?");
    else if (s < 60) snprintf(buf, cap, "%.1f s", s);
    else if (s < 3600) snprintf(buf, cap, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else snprintf(buf, cap, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

// Prints "LABEL [COUNT ](PCT%)  ELAPSED elapsed  ETA ETA" (count may be empty; eta < 0: unknown)
// according to the style's rules (include/base/common.h).
static void progress_line(const char *label, const char *count, double frac, double el, double eta, int last) {
    int style = progress_style();
    if (g_quiet || style == 0) return;
    double now = el;  // times relative to the task's start
    if (style == 1) {
        if (!last && now - g_prog.last_t < 0.2 && g_prog.printed) return;
    } else {
        double every = progress_every();
        // an estimate that drops (the sweep's fraction once costs are measured) restarts the 10 % count
        if (frac < g_prog.last_frac) g_prog.last_frac = frac;
        int due = (now - g_prog.last_t >= every && frac - g_prog.last_frac >= 0.1 - 1e-9) ||
                  (every > 0 && now - g_prog.last_t >= 60 * every);  // never silent for 10 minutes
        if (last ? !g_prog.printed : !due) return;
    }
    g_prog.last_t = now;
    g_prog.last_frac = frac;
    g_prog.printed++;
    char e[32], t[32];
    hy_format_seconds(e, sizeof e, el);
    if (last) snprintf(t, sizeof t, "done");
    else if (eta < 0) snprintf(t, sizeof t, "ETA ?");
    else {
        char x[24];
        hy_format_seconds(x, sizeof x, eta);
        snprintf(t, sizeof t, "ETA %s", x);
    }
    int pct = (int)floor(100 * (frac < 0 ? 0 : frac > 1 ? 1 : frac));
    if (style == 1) {
        fprintf(stderr, "\r%s %s%s(%d%%)  %s elapsed  %s   ", label, count, count[0] ? " " : "", pct, e, t);
        g_line_open = !last;
        if (last) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s %s%s(%d%%)  %s elapsed  %s\n", label, count, count[0] ? " " : "", pct, e, t);
    }
    fflush(stderr);
}

static void progress_task(double t_start) {
    if (g_prog.t_start == t_start) return;
    g_prog.t_start = t_start;
    g_prog.last_t = 0;
    g_prog.last_frac = 0;
    g_prog.printed = 0;
}

void hy_progress(const char *label, long i, long n, double t_start) {
    progress_task(t_start);
    double el = hy_now() - t_start;
    double frac = n > 0 ? (double)i / (double)n : 1;
    double eta = i > 0 ? el * (double)(n - i) / (double)i : -1;
    char count[64];
    snprintf(count, sizeof count, "%ld/%ld", i, n);
    progress_line(label, count, frac, el, eta, i >= n);
}

void hy_progress_eta(const char *label, double frac, double eta, int last, double t_start) {
    progress_task(t_start);
    progress_line(label, "", frac, hy_now() - t_start, eta, last);
}

uint32_t hy_crc32(uint32_t crc, const void *p, size_t n) {
    const uint8_t *b = p;
    uLong c = crc;
    while (n) {
        const uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return (uint32_t)c;
}
