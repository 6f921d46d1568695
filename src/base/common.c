// common.c - error messages, checked allocation, whole-file reads, atomic output files,
// progress lines and the thread-count setting. See include/base/common.h.
#include "base/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

// provided by OpenBLAS
extern void openblas_set_num_threads(int);

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

int hy_read_file(const char *path, uint8_t **data, size_t *size, size_t limit) {
    *data = NULL;
    *size = 0;
    if (!limit) limit = HY_MAX_FILE_BYTES;
    FILE *f = fopen(path, "rb");
    if (!f) return hy_err(HY_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return hy_err(HY_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > limit) {
        fclose(f);
        return hy_err(HY_ENOMEM, "%s: file is %lld bytes, over the limit of %zu", path,
                      (long long)sb.st_size, limit);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = hy_malloc_aligned(n + 1);
    if (!buf) {
        fclose(f);
        return hy_err(HY_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (got != n || rerr) {
        free(buf);
        return hy_err(HY_EIO, "%s: read error (got %zu of %zu bytes)", path, got, n);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return HY_OK;
}

// --- atomic output ---------------------------------------------------------------

int hy_out_open(hy_outfile *o, const char *path) {
    memset(o, 0, sizeof *o);
    if (strlen(path) >= sizeof o->path) return hy_err(HY_EARG, "%s: path too long", path);
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", path, (long)getpid());
    o->fp = fopen(o->tmp, "wb");
    if (!o->fp) return hy_err(HY_EIO, "%s: cannot write: %s", path, strerror(errno));
    return HY_OK;
}

int hy_out_commit(hy_outfile *o) {
    if (!o->fp) return hy_err(HY_EIO, "%s: not open", o->path);
    int bad = ferror(o->fp);
    if (fflush(o->fp) != 0) bad = 1;
    if (fclose(o->fp) != 0) bad = 1;
    o->fp = NULL;
    if (bad) {
        int e = errno;
        remove(o->tmp);
        return hy_err(HY_EIO, "%s: write failed: %s", o->path, strerror(e));
    }
    if (rename(o->tmp, o->path) != 0) {
        int e = errno;
        remove(o->tmp);
        return hy_err(HY_EIO, "%s: cannot rename into place: %s", o->path, strerror(e));
    }
    return HY_OK;
}

void hy_out_abort(hy_outfile *o) {
    if (o->fp) fclose(o->fp);
    o->fp = NULL;
    if (o->tmp[0]) remove(o->tmp);
    o->tmp[0] = 0;
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
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return hy_err(HY_EIO, "%s: cannot create directory %s: %s", path, buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
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

static void note_to_stderr(const char *line, void *user) {
    (void)user;
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

void hy_progress(const char *label, long i, long n, double t_start) {
    static double last = 0;
    static int enabled = -1;
    if (g_quiet) return;
    if (enabled < 0) {
        const char *e = getenv("HY_PROGRESS");
        enabled = e ? atoi(e) != 0 : isatty(2);
    }
    if (!enabled) return;
    double now = hy_now();
    if (i < n && now - last < 0.2 && i > 0) return;
    last = now;
    double el = now - t_start;
    double eta = i > 0 ? el * (double)(n - i) / (double)i : 0;
    fprintf(stderr, "\r%s %ld/%ld  %.1fs elapsed  ETA %.1fs   ", label, i, n, el, eta);
    if (i >= n) fputc('\n', stderr);
    fflush(stderr);
}

static int g_threads = 1;

void hy_set_threads(int n) {
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    g_threads = n;
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int hy_get_threads(void) { return g_threads; }

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
