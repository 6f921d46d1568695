// wfile.c - reader (full validation) and writer of the HYW1 weight-file format.
// The byte layout is documented in include/base/wfile.h.
#include "base/wfile.h"

#ifndef _OPENMP  // NO_OMP=1 builds: the loop runs serially
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

static const char *DTYPE_NAMES[] = {"f32", "f64", "i32", "i64", "u8"};
static const size_t DTYPE_SIZES[] = {4, 8, 4, 8, 1};

size_t hy_wf_dtype_size(int dtype) { return dtype >= 0 && dtype <= WF_U8 ? DTYPE_SIZES[dtype] : 0; }
const char *hy_wf_dtype_name(int dtype) { return dtype >= 0 && dtype <= WF_U8 ? DTYPE_NAMES[dtype] : "?"; }

// --- little-endian cursor over the header ------------------------------------------
typedef struct {
    const uint8_t *p;
    size_t pos, end;
    int bad;
} cursor;

static int take(cursor *c, size_t n, const uint8_t **out) {
    if (c->bad || n > c->end - c->pos) {
        c->bad = 1;
        return -1;
    }
    *out = c->p + c->pos;
    c->pos += n;
    return 0;
}
static uint64_t rd_le(cursor *c, int n) {
    const uint8_t *b;
    if (take(c, (size_t)n, &b)) return 0;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}
static double rd_f64(cursor *c) {
    uint64_t u = rd_le(c, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

// Reads a length-prefixed ASCII name (u16 length) into dst[256].
static int rd_name(cursor *c, char *dst) {
    size_t n = (size_t)rd_le(c, 2);
    const uint8_t *b;
    if (c->bad || n == 0 || n > 255 || take(c, n, &b)) return -1;
    for (size_t i = 0; i < n; i++)
        if (b[i] < 0x20 || b[i] > 0x7e) return -1;
    memcpy(dst, b, n);
    dst[n] = 0;
    return 0;
}

static void free_config(wf_kv *kv, uint32_t n) {
    if (!kv) return;
    for (uint32_t i = 0; i < n; i++) {
        free(kv[i].s);
        free(kv[i].ints);
        free(kv[i].floats);
    }
    free(kv);
}

void hy_wf_close(wfile *wf) {
    free_config(wf->config, wf->n_config);
    free(wf->tensors);
    free(wf->fetched);
    free(wf->buf);
    memset(wf, 0, sizeof *wf);
}

static int cmp_offset(const void *a, const void *b) {
    const wf_tensor *x = *(const wf_tensor *const *)a, *y = *(const wf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

// --- parsing, in the order of the file: fixed header, config, tensor table, data ----------

// Magic, version, kind, counts, file size and the header CRC; leaves the cursor on the config.
static int parse_fixed_header(wfile *wf, cursor *c, uint32_t *header_bytes) {
    const char *path = wf->path;
    const uint8_t *buf = wf->buf;
    size_t size = wf->size;
    if (size < 64 || memcmp(buf, "HYPERWF\0", 8) != 0)
        return hy_err(HY_EFORMAT, "%s: not a hyper weight file (bad magic)", path);
    *c = (cursor){buf, 8, size, 0};
    wf->version = (uint32_t)rd_le(c, 4);
    *header_bytes = (uint32_t)rd_le(c, 4);
    if (wf->version != WF_VERSION)
        return hy_err(HY_EFORMAT, "%s: unsupported format version %u (this build reads %d)", path,
                      wf->version, WF_VERSION);
    memcpy(wf->kind, buf + 16, 32);  // 32 bytes, NUL padded (all 32 may be used)
    c->pos += 32;
    wf->kind[32] = 0;
    for (size_t i = 0; i < strlen(wf->kind); i++)
        if (wf->kind[i] < 0x20 || wf->kind[i] > 0x7e) return hy_err(HY_EFORMAT, "%s: model kind is not ASCII", path);
    wf->n_config = (uint32_t)rd_le(c, 4);
    wf->n_tensors = (uint32_t)rd_le(c, 4);
    uint64_t file_size = rd_le(c, 8);
    if (file_size != size)
        return hy_err(HY_EFORMAT, "%s: file is %zu bytes but its header says %llu (truncated or padded)",
                      path, size, (unsigned long long)file_size);
    const uint32_t hb = *header_bytes;
    if (hb < 68 || hb > size)
        return hy_err(HY_EFORMAT, "%s: header size %u out of range (file is %zu bytes)", path, hb, size);
    uint32_t want = (uint32_t)buf[hb - 4] | (uint32_t)buf[hb - 3] << 8 | (uint32_t)buf[hb - 2] << 16 |
                    (uint32_t)buf[hb - 1] << 24;
    if (want != hy_crc32(0, buf, hb - 4)) return hy_err(HY_ECRC, "%s: header checksum mismatch (file is corrupt)", path);
    // every entry needs at least 4 bytes: bound the counts before allocating
    if ((uint64_t)wf->n_config + wf->n_tensors > hb / 4)
        return hy_err(HY_EFORMAT, "%s: header claims %u config entries and %u tensors, too many for its %u bytes",
                      path, wf->n_config, wf->n_tensors, hb);
    c->end = hb - 4;
    return HY_OK;
}

// The value of one config entry whose key and type are read.
static int parse_config_value(const char *path, cursor *c, wf_kv *kv) {
    switch (kv->type) {
    case WF_CFG_INT: kv->i = (int64_t)rd_le(c, 8); return HY_OK;
    case WF_CFG_FLOAT: kv->f = rd_f64(c); return HY_OK;
    case WF_CFG_STR: {
        kv->count = (uint32_t)rd_le(c, 4);
        const uint8_t *b;
        if (kv->count > 65535 || take(c, kv->count, &b))
            return hy_err(HY_EFORMAT, "%s: config '%s': bad string length", path, kv->key);
        if (!(kv->s = hy_malloc(kv->count + 1))) return HY_ENOMEM;
        memcpy(kv->s, b, kv->count);
        kv->s[kv->count] = 0;
        if (strlen(kv->s) != kv->count) return hy_err(HY_EFORMAT, "%s: config '%s': string contains NUL", path, kv->key);
        return HY_OK;
    }
    case WF_CFG_INTS:
    case WF_CFG_FLOATS:
        kv->count = (uint32_t)rd_le(c, 4);
        if (kv->count > 65535 || (size_t)kv->count * 8 > c->end - c->pos)
            return hy_err(HY_EFORMAT, "%s: config '%s': bad array length", path, kv->key);
        if (kv->type == WF_CFG_INTS) {
            if (!(kv->ints = hy_calloc(kv->count, 8))) return HY_ENOMEM;
            for (uint32_t k = 0; k < kv->count; k++) kv->ints[k] = (int64_t)rd_le(c, 8);
        } else {
            if (!(kv->floats = hy_calloc(kv->count, 8))) return HY_ENOMEM;
            for (uint32_t k = 0; k < kv->count; k++) kv->floats[k] = rd_f64(c);
        }
        return HY_OK;
    default: return hy_err(HY_EFORMAT, "%s: config '%s': unknown value type %d", path, kv->key, kv->type);
    }
}

static int parse_config(wfile *wf, cursor *c) {
    for (uint32_t i = 0; i < wf->n_config; i++) {
        wf_kv *kv = &wf->config[i];
        if (rd_name(c, kv->key)) return hy_err(HY_EFORMAT, "%s: config entry %u: bad key", wf->path, i);
        kv->type = (int)rd_le(c, 1);
        int rc = parse_config_value(wf->path, c, kv);
        if (rc) return rc;
        if (c->bad) return hy_err(HY_EFORMAT, "%s: config entry '%s' runs past the header", wf->path, kv->key);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(wf->config[j].key, kv->key))
                return hy_err(HY_EFORMAT, "%s: duplicate config key '%s'", wf->path, kv->key);
    }
    return HY_OK;
}

// One tensor-table entry: name, dtype, shape, offset, size, CRC, and where its data lies.
static int parse_tensor_entry(const wfile *wf, cursor *c, uint32_t header_bytes, wf_tensor *t, uint32_t i) {
    const char *path = wf->path;
    if (rd_name(c, t->name)) return hy_err(HY_EFORMAT, "%s: tensor entry %u: bad name", path, i);
    t->dtype = (int)rd_le(c, 1);
    t->ndim = (int)rd_le(c, 1);
    if (c->bad) return hy_err(HY_EFORMAT, "%s: tensor '%s': entry runs past the header", path, t->name);
    if (!hy_wf_dtype_size(t->dtype))
        return hy_err(HY_EFORMAT, "%s: tensor '%s': unknown dtype code %d", path, t->name, t->dtype);
    if (t->ndim > WF_MAX_NDIM)
        return hy_err(HY_EFORMAT, "%s: tensor '%s': ndim %d > %d", path, t->name, t->ndim, WF_MAX_NDIM);
    for (int d = 0; d < t->ndim; d++) {
        uint64_t v = rd_le(c, 8);
        if (v > (uint64_t)INT64_MAX)
            return hy_err(HY_EFORMAT, "%s: tensor '%s': dimension %d too large", path, t->name, d);
        t->dims[d] = (int64_t)v;
    }
    t->offset = rd_le(c, 8);
    t->nbytes = rd_le(c, 8);
    t->crc = (uint32_t)rd_le(c, 4);
    if (c->bad) return hy_err(HY_EFORMAT, "%s: tensor '%s': entry runs past the header", path, t->name);
    size_t count, nbytes;
    if (hy_prod_dims(t->dims, t->ndim, &count) || hy_mul_size(count, hy_wf_dtype_size(t->dtype), &nbytes) ||
        nbytes != t->nbytes)
        return hy_err(HY_EFORMAT, "%s: tensor '%s': byte size %llu does not match its shape and dtype", path,
                      t->name, (unsigned long long)t->nbytes);
    if (t->offset % WF_ALIGN)
        return hy_err(HY_EFORMAT, "%s: tensor '%s': offset %llu is not 64-byte aligned", path, t->name,
                      (unsigned long long)t->offset);
    if (t->offset < header_bytes || t->offset > wf->size || t->nbytes > wf->size - t->offset)
        return hy_err(HY_EFORMAT, "%s: tensor '%s': data [%llu, +%llu) lies outside the data region", path,
                      t->name, (unsigned long long)t->offset, (unsigned long long)t->nbytes);
    t->data = wf->buf + t->offset;
    return HY_OK;
}

static int parse_tensor_table(wfile *wf, cursor *c, uint32_t header_bytes) {
    for (uint32_t i = 0; i < wf->n_tensors; i++) {
        int rc = parse_tensor_entry(wf, c, header_bytes, &wf->tensors[i], i);
        if (rc) return rc;
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(wf->tensors[j].name, wf->tensors[i].name))
                return hy_err(HY_EFORMAT, "%s: duplicate tensor name '%s'", wf->path, wf->tensors[i].name);
    }
    if (c->pos != c->end)
        return hy_err(HY_EFORMAT, "%s: %zu unexplained bytes at the end of the header", wf->path, c->end - c->pos);
    return HY_OK;
}

// No two tensors overlap, and every byte outside them is zero, so that a flipped byte
// anywhere after the header is detected.
static int check_data_layout(const wfile *wf, uint32_t header_bytes) {
    const wf_tensor **order = hy_calloc(wf->n_tensors, sizeof *order);
    if (!order && wf->n_tensors) return HY_ENOMEM;
    for (uint32_t i = 0; i < wf->n_tensors; i++) order[i] = &wf->tensors[i];
    qsort(order, wf->n_tensors, sizeof *order, cmp_offset);
    int rc = HY_OK;
    for (uint32_t i = 1; i < wf->n_tensors && !rc; i++)
        if (order[i - 1]->offset + order[i - 1]->nbytes > order[i]->offset)
            rc = hy_err(HY_EFORMAT, "%s: tensors '%s' and '%s' overlap", wf->path, order[i - 1]->name, order[i]->name);
    size_t pos = header_bytes;
    for (uint32_t i = 0; i <= wf->n_tensors && !rc; i++) {
        size_t end = i < wf->n_tensors ? order[i]->offset : wf->size;
        for (size_t k = pos; k < end && !rc; k++)
            if (wf->buf[k]) rc = hy_err(HY_ECRC, "%s: padding byte at offset %zu is not zero (file is corrupt)", wf->path, k);
        if (i < wf->n_tensors) pos = order[i]->offset + order[i]->nbytes;
    }
    free(order);
    return rc;
}

static int parse(wfile *wf) {
    cursor c;
    uint32_t header_bytes = 0;
    int rc = parse_fixed_header(wf, &c, &header_bytes);
    if (rc) return rc;
    wf->config = hy_calloc(wf->n_config, sizeof(wf_kv));
    wf->tensors = hy_calloc(wf->n_tensors, sizeof(wf_tensor));
    wf->fetched = hy_calloc(wf->n_tensors, 1);
    if (!wf->config || !wf->tensors || !wf->fetched) return HY_ENOMEM;
    if ((rc = parse_config(wf, &c)) || (rc = parse_tensor_table(wf, &c, header_bytes)) ||
        (rc = check_data_layout(wf, header_bytes)))
        return rc;
    // every tensor's checksum, the tensors shared among the threads for big files (zlib's crc32
    // runs at ~1 GB/s); the first bad tensor in file order is the one reported
    long bad = (long)wf->n_tensors;
    const int n = (int)wf->n_tensors;
#pragma omp parallel for schedule(dynamic, 1) reduction(min : bad) if (wf->size >= ((size_t)8 << 20))
    for (int i = 0; i < n; i++) {
        const wf_tensor *t = &wf->tensors[i];
        if (hy_crc32(0, t->data, (size_t)t->nbytes) != t->crc && i < bad) bad = i;
    }
    if (bad < n)
        return hy_err(HY_ECRC, "%s: tensor '%s': checksum mismatch (data is corrupt)", wf->path, wf->tensors[bad].name);
    return HY_OK;
}

int hy_wf_open(wfile *wf, const char *path) {
    memset(wf, 0, sizeof *wf);
    snprintf(wf->path, sizeof wf->path, "%s", path);
    int r = hy_read_file(path, &wf->buf, &wf->size, 0);
    if (r) return r;
    r = parse(wf);
    if (r) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", hy_errmsg());
        hy_wf_close(wf);
        return hy_err(r, "%s", keep);
    }
    return HY_OK;
}

int hy_wf_open_mem(wfile *wf, const char *name, const uint8_t *buf, size_t len) {
    memset(wf, 0, sizeof *wf);
    snprintf(wf->path, sizeof wf->path, "%s", name);
    if (!(wf->buf = hy_malloc_aligned(len + 1))) return HY_ENOMEM;
    memcpy(wf->buf, buf, len);
    wf->size = len;
    int r = parse(wf);
    if (r) {
        char keep[1024];
        snprintf(keep, sizeof keep, "%s", hy_errmsg());
        hy_wf_close(wf);
        return hy_err(r, "%s", keep);
    }
    return HY_OK;
}

int hy_wf_expect_kind(const wfile *wf, const char *kind) {
    if (strcmp(wf->kind, kind))
        return hy_err(HY_EFORMAT, "%s: is a '%s' weight file, expected '%s'", wf->path, wf->kind, kind);
    return HY_OK;
}

const wf_tensor *hy_wf_find(const wfile *wf, const char *name) {
    for (uint32_t i = 0; i < wf->n_tensors; i++)
        if (!strcmp(wf->tensors[i].name, name)) return &wf->tensors[i];
    return NULL;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *dims) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < ndim && k < n; d++) k += (size_t)snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)dims[d]);
    if (k < n) snprintf(buf + k, n - k, ")");
}

int hy_wf_get_f32(const wfile *wf, const char *name, int ndim, const int64_t *dims, const float **out) {
    *out = NULL;
    const wf_tensor *t = hy_wf_find(wf, name);
    if (!t) return hy_err(HY_EFORMAT, "%s: tensor '%s' is missing", wf->path, name);
    if (t->dtype != WF_F32)
        return hy_err(HY_EFORMAT, "%s: tensor '%s' is %s, expected f32", wf->path, name, hy_wf_dtype_name(t->dtype));
    if (ndim >= 0) {
        int same = t->ndim == ndim;
        for (int d = 0; same && d < ndim; d++) same = t->dims[d] == dims[d];
        if (!same) {
            char a[200], b[200];
            shape_str(a, sizeof a, ndim, dims);
            shape_str(b, sizeof b, t->ndim, t->dims);
            return hy_err(HY_ESHAPE, "%s: tensor '%s' has shape %s, expected %s", wf->path, name, b, a);
        }
    }
    // a valid CRC only says the bytes are the ones written: NaN/Inf weights are refused here
    const float *v = t->data;
    for (size_t i = 0; i < (size_t)(t->nbytes / 4); i++)
        if (!isfinite(v[i]))
            return hy_err(HY_EVALUE, "%s: tensor '%s' element %zu is %s (the weights are unusable)", wf->path, name, i,
                          isnan(v[i]) ? "NaN" : "Inf");
    wf->fetched[t - wf->tensors] = 1;
    *out = t->data;
    return HY_OK;
}

int hy_wf_check_all_used(const wfile *wf, const char *what) {
    for (uint32_t i = 0; i < wf->n_tensors; i++)
        if (!wf->fetched[i])
            return hy_err(HY_EFORMAT, "%s: unexpected tensor '%s' (not part of %s)", wf->path, wf->tensors[i].name,
                          what);
    return HY_OK;
}

const wf_kv *hy_wf_cfg(const wfile *wf, const char *key) {
    for (uint32_t i = 0; i < wf->n_config; i++)
        if (!strcmp(wf->config[i].key, key)) return &wf->config[i];
    return NULL;
}

static int cfg_typed(const wfile *wf, const char *key, int type, const wf_kv **kv) {
    static const char *tn[] = {"", "int", "float", "string", "int array", "float array"};
    *kv = hy_wf_cfg(wf, key);
    if (!*kv) return hy_err(HY_EFORMAT, "%s: config key '%s' is missing", wf->path, key);
    if ((*kv)->type != type)
        return hy_err(HY_EFORMAT, "%s: config key '%s' is a %s, expected %s", wf->path, key, tn[(*kv)->type],
                      tn[type]);
    return HY_OK;
}
int hy_wf_cfg_int(const wfile *wf, const char *key, int64_t *out) {
    const wf_kv *kv;
    int r = cfg_typed(wf, key, WF_CFG_INT, &kv);
    if (!r) *out = kv->i;
    return r;
}
int hy_wf_cfg_float(const wfile *wf, const char *key, double *out) {
    const wf_kv *kv;
    int r = cfg_typed(wf, key, WF_CFG_FLOAT, &kv);
    if (!r) *out = kv->f;
    return r;
}
int hy_wf_cfg_str(const wfile *wf, const char *key, const char **out) {
    const wf_kv *kv;
    int r = cfg_typed(wf, key, WF_CFG_STR, &kv);
    if (!r) *out = kv->s;
    return r;
}
int hy_wf_cfg_ints(const wfile *wf, const char *key, const int64_t **out, uint32_t *count) {
    const wf_kv *kv;
    int r = cfg_typed(wf, key, WF_CFG_INTS, &kv);
    if (!r) *out = kv->ints, *count = kv->count;
    return r;
}
int hy_wf_cfg_floats(const wfile *wf, const char *key, const double **out, uint32_t *count) {
    const wf_kv *kv;
    int r = cfg_typed(wf, key, WF_CFG_FLOATS, &kv);
    if (!r) *out = kv->floats, *count = kv->count;
    return r;
}

void hy_wf_print(const wfile *wf, FILE *out) {
    fprintf(out, "file:     %s\n", wf->path);
    fprintf(out, "format:   HYW1 version %u, %zu bytes\n", wf->version, wf->size);
    fprintf(out, "kind:     %s\n", wf->kind);
    fprintf(out, "config:   %u entries\n", wf->n_config);
    for (uint32_t i = 0; i < wf->n_config; i++) {
        const wf_kv *kv = &wf->config[i];
        fprintf(out, "  %-24s ", kv->key);
        switch (kv->type) {
        case WF_CFG_INT: fprintf(out, "%lld", (long long)kv->i); break;
        case WF_CFG_FLOAT: fprintf(out, "%.17g", kv->f); break;
        case WF_CFG_STR: fprintf(out, "\"%s\"", kv->s); break;
        case WF_CFG_INTS:
            fprintf(out, "[");
            for (uint32_t k = 0; k < kv->count; k++) fprintf(out, k ? ", %lld" : "%lld", (long long)kv->ints[k]);
            fprintf(out, "]");
            break;
        case WF_CFG_FLOATS:
            fprintf(out, "[");
            for (uint32_t k = 0; k < kv->count; k++) fprintf(out, k ? ", %.9g" : "%.9g", kv->floats[k]);
            fprintf(out, "]");
            break;
        }
        fprintf(out, "\n");
    }
    uint64_t total = 0;
    fprintf(out, "tensors:  %u\n", wf->n_tensors);
    fprintf(out, "  %-36s %-5s %-22s %12s %12s %10s\n", "name", "dtype", "shape", "offset", "bytes", "crc32");
    for (uint32_t i = 0; i < wf->n_tensors; i++) {
        const wf_tensor *t = &wf->tensors[i];
        char s[200];
        shape_str(s, sizeof s, t->ndim, t->dims);
        fprintf(out, "  %-36s %-5s %-22s %12llu %12llu   %08x\n", t->name, hy_wf_dtype_name(t->dtype), s,
                (unsigned long long)t->offset, (unsigned long long)t->nbytes, t->crc);
        size_t cnt = 0;
        hy_prod_dims(t->dims, t->ndim, &cnt);
        total += cnt;
    }
    fprintf(out, "elements: %llu\n", (unsigned long long)total);
    fprintf(out, "checksums: all %u tensors and the header verified OK\n", wf->n_tensors);
}

// --- writer -------------------------------------------------------------------------

typedef struct {
    char name[256];
    int dtype, ndim;
    int64_t dims[WF_MAX_NDIM];
    const void *data;
    uint64_t nbytes, offset;
} wtensor;

struct wf_writer {
    char kind[33];
    uint8_t *cfg;  // serialized config entries
    size_t cfg_len, cfg_cap;
    uint32_t n_cfg;
    wtensor *t;
    uint32_t n_t, cap_t;
    int err;
};

wf_writer *hy_wf_writer_new(const char *kind) {
    if (strlen(kind) == 0 || strlen(kind) > 32) {
        hy_err(HY_EARG, "weight-file kind '%s' must be 1..32 characters", kind);
        return NULL;
    }
    wf_writer *w = hy_calloc(1, sizeof *w);
    if (w) snprintf(w->kind, sizeof w->kind, "%s", kind);
    return w;
}

void hy_wf_writer_free(wf_writer *w) {
    if (!w) return;
    free(w->cfg);
    free(w->t);
    free(w);
}

static int put(wf_writer *w, const void *p, size_t n) {
    if (w->cfg_len + n > w->cfg_cap) {
        size_t cap = (w->cfg_cap + n) * 2;
        uint8_t *q = realloc(w->cfg, cap);
        if (!q) return w->err = hy_err(HY_ENOMEM, "out of memory");
        w->cfg = q;
        w->cfg_cap = cap;
    }
    memcpy(w->cfg + w->cfg_len, p, n);
    w->cfg_len += n;
    return 0;
}
static int put_le(wf_writer *w, uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    return put(w, b, (size_t)n);
}
static int put_key(wf_writer *w, const char *key, int type) {
    size_t n = strlen(key);
    if (n == 0 || n > 255) return w->err = hy_err(HY_EARG, "config key '%s' must be 1..255 characters", key);
    w->n_cfg++;
    put_le(w, n, 2);
    put(w, key, n);
    return put_le(w, (uint64_t)type, 1);
}
int hy_wf_writer_int(wf_writer *w, const char *key, int64_t v) {
    put_key(w, key, WF_CFG_INT);
    return put_le(w, (uint64_t)v, 8);
}
int hy_wf_writer_float(wf_writer *w, const char *key, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    put_key(w, key, WF_CFG_FLOAT);
    return put_le(w, u, 8);
}
int hy_wf_writer_str(wf_writer *w, const char *key, const char *v) {
    size_t n = strlen(v);
    if (n > 65535) return w->err = hy_err(HY_EARG, "config '%s': string too long", key);
    put_key(w, key, WF_CFG_STR);
    put_le(w, n, 4);
    return put(w, v, n);
}
int hy_wf_writer_ints(wf_writer *w, const char *key, const int64_t *v, uint32_t count) {
    if (count > 65535) return w->err = hy_err(HY_EARG, "config '%s': array too long", key);
    put_key(w, key, WF_CFG_INTS);
    put_le(w, count, 4);
    for (uint32_t i = 0; i < count; i++) put_le(w, (uint64_t)v[i], 8);
    return w->err;
}
int hy_wf_writer_floats(wf_writer *w, const char *key, const double *v, uint32_t count) {
    if (count > 65535) return w->err = hy_err(HY_EARG, "config '%s': array too long", key);
    put_key(w, key, WF_CFG_FLOATS);
    put_le(w, count, 4);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t u;
        memcpy(&u, &v[i], 8);
        put_le(w, u, 8);
    }
    return w->err;
}

int hy_wf_writer_tensor(wf_writer *w, const char *name, int dtype, int ndim, const int64_t *dims, const void *data) {
    if (strlen(name) == 0 || strlen(name) > 255)
        return w->err = hy_err(HY_EARG, "tensor name '%s' must be 1..255 characters", name);
    if (!hy_wf_dtype_size(dtype) || ndim < 0 || ndim > WF_MAX_NDIM)
        return w->err = hy_err(HY_EARG, "tensor '%s': bad dtype or ndim", name);
    for (uint32_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return w->err = hy_err(HY_EARG, "duplicate tensor name '%s'", name);
    size_t cnt, nb;
    if (hy_prod_dims(dims, ndim, &cnt) || hy_mul_size(cnt, hy_wf_dtype_size(dtype), &nb))
        return w->err = hy_err(HY_EARG, "tensor '%s': size overflows", name);
    if (w->n_t == w->cap_t) {
        uint32_t cap = w->cap_t ? w->cap_t * 2 : 16;
        wtensor *q = realloc(w->t, cap * sizeof *q);
        if (!q) return w->err = hy_err(HY_ENOMEM, "out of memory");
        w->t = q;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    t->data = data;
    t->nbytes = nb;
    return HY_OK;
}

static void le_store(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int hy_wf_writer_save(wf_writer *w, const char *path) {
    if (w->err) return w->err;
    // the readers refuse NaN/Inf weights (hy_wf_get_f32), so such a file is never written
    for (uint32_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        const size_t n = t->dtype == WF_F32 ? t->nbytes / 4 : t->dtype == WF_F64 ? t->nbytes / 8 : 0;
        for (size_t k = 0; k < n; k++) {
            const double v = t->dtype == WF_F32 ? ((const float *)t->data)[k] : ((const double *)t->data)[k];
            if (!isfinite(v))
                return hy_err(HY_EVALUE, "%s: tensor '%s' element %zu is %s; not written", path, t->name, k,
                              isnan(v) ? "NaN" : "Inf");
        }
    }
    size_t table = 0;
    for (uint32_t i = 0; i < w->n_t; i++) table += 2 + strlen(w->t[i].name) + 2 + 8 * (size_t)w->t[i].ndim + 20;
    size_t header_bytes = 64 + w->cfg_len + table + 4;
    uint64_t off = (header_bytes + WF_ALIGN - 1) / WF_ALIGN * WF_ALIGN, file_size = off;
    for (uint32_t i = 0; i < w->n_t; i++) {
        w->t[i].offset = off;
        file_size = off + w->t[i].nbytes;
        off = (file_size + WF_ALIGN - 1) / WF_ALIGN * WF_ALIGN;
    }
    if (header_bytes > UINT32_MAX) return hy_err(HY_EARG, "%s: header too large", path);
    uint8_t *h = hy_calloc(1, header_bytes);
    if (!h) return HY_ENOMEM;
    memcpy(h, "HYPERWF\0", 8);
    le_store(h + 8, WF_VERSION, 4);
    le_store(h + 12, header_bytes, 4);
    memcpy(h + 16, w->kind, strlen(w->kind));
    le_store(h + 48, w->n_cfg, 4);
    le_store(h + 52, w->n_t, 4);
    le_store(h + 56, file_size, 8);
    if (w->cfg_len) memcpy(h + 64, w->cfg, w->cfg_len);
    uint8_t *p = h + 64 + w->cfg_len;
    for (uint32_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        size_t n = strlen(t->name);
        le_store(p, n, 2);
        memcpy(p + 2, t->name, n);
        p += 2 + n;
        *p++ = (uint8_t)t->dtype;
        *p++ = (uint8_t)t->ndim;
        for (int d = 0; d < t->ndim; d++, p += 8) le_store(p, (uint64_t)t->dims[d], 8);
        le_store(p, t->offset, 8);
        le_store(p + 8, t->nbytes, 8);
        le_store(p + 16, hy_crc32(0, t->data, (size_t)t->nbytes), 4);
        p += 20;
    }
    le_store(p, hy_crc32(0, h, header_bytes - 4), 4);

    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) {
        free(h);
        return r;
    }
    static const uint8_t zeros[WF_ALIGN];
    uint64_t pos = header_bytes;
    int bad = fwrite(h, 1, header_bytes, o.fp) != header_bytes;
    free(h);
    for (uint32_t i = 0; i < w->n_t && !bad; i++) {
        const wtensor *t = &w->t[i];
        if (t->offset > pos) bad |= fwrite(zeros, 1, (size_t)(t->offset - pos), o.fp) != t->offset - pos;
        if (t->nbytes) bad |= fwrite(t->data, 1, t->nbytes, o.fp) != t->nbytes;
        pos = t->offset + t->nbytes;
    }
    if (bad) {
        hy_out_abort(&o);
        return hy_err(HY_EIO, "%s: write failed", path);
    }
    return hy_out_commit(&o);
}
