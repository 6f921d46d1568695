// npy.c - .npy reader/writer (NumPy format 1.0/2.0/3.0). See include/base/npy.h.
//
// The header is a Python dict literal; parse_dict below takes exactly what numpy's reader
// takes (the three keys, each once) and rejects anything else.
#include "base/npy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/npz.h"  // hy_npy_source: arrays inside .npz archives

#define NPY_MAX_HEADER (1 << 20)

// --- the header dict -------------------------------------------------------------------
// numpy reads the header with ast.literal_eval and requires a dict with exactly the keys
// 'descr', 'fortran_order' and 'shape', a bool order and a tuple of ints. This parser takes
// the same literal grammar, restricted to what those values can be: quoted strings without
// escapes, True/False, tuples of decimal integers; whitespace between tokens, a trailing comma
// in the dict and the tuple. It refuses everything numpy refuses (other or missing keys,
// `(3)` which is not a tuple, 1/0 for the order) and also a key given twice (numpy would keep
// the last one silently) and values numpy would accept but cannot be array headers here.
typedef struct {
    const char *p;
    char err[128];
} hparse;

static void skip_ws(hparse *h) {
    while (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r') h->p++;
}

static int expect(hparse *h, char c) {
    skip_ws(h);
    if (*h->p != c) {
        snprintf(h->err, sizeof h->err, "expected '%c' at '%.12s'", c, h->p);
        return -1;
    }
    h->p++;
    return 0;
}

// A '...' or "..." string without escapes into out[cap].
static int parse_str(hparse *h, char *out, size_t cap) {
    skip_ws(h);
    const char q = *h->p;
    if (q != '\'' && q != '"') {
        snprintf(h->err, sizeof h->err, "expected a quoted string at '%.12s'", h->p);
        return -1;
    }
    const char *e = strchr(h->p + 1, q);
    if (!e || (size_t)(e - h->p - 1) >= cap || memchr(h->p + 1, '\\', (size_t)(e - h->p - 1))) {
        snprintf(h->err, sizeof h->err, "bad string at '%.12s'", h->p);
        return -1;
    }
    memcpy(out, h->p + 1, (size_t)(e - h->p - 1));
    out[e - h->p - 1] = 0;
    h->p = e + 1;
    return 0;
}

// A tuple of non-negative decimal integers: "()", "(3,)", "(2, 3)", "(2, 3,)".
static int parse_shape(hparse *h, int64_t *dims, int *ndim) {
    if (expect(h, '(')) return -1;
    int n = 0, need_comma = 0;
    for (;;) {
        skip_ws(h);
        if (*h->p == ')') break;
        if (need_comma || !isdigit((unsigned char)*h->p)) {
            snprintf(h->err, sizeof h->err, "shape is not a tuple of integers at '%.12s'", h->p);
            return -1;
        }
        if (n >= NPY_MAX_NDIM) {
            snprintf(h->err, sizeof h->err, "more than %d dimensions", NPY_MAX_NDIM);
            return -1;
        }
        char *end;
        errno = 0;
        long long v = strtoll(h->p, &end, 10);
        if (errno || v > ((long long)1 << 40)) {
            snprintf(h->err, sizeof h->err, "dimension %.20s is too large", h->p);
            return -1;
        }
        dims[n++] = v;
        h->p = end;
        skip_ws(h);
        if (*h->p == ',') h->p++;
        else need_comma = 1;
    }
    h->p++;
    if (n == 1 && need_comma) {  // "(3)" is the integer 3, not a tuple
        snprintf(h->err, sizeof h->err, "shape (%lld) is not a tuple (numpy writes (%lld,))", (long long)dims[0],
                 (long long)dims[0]);
        return -1;
    }
    *ndim = n;
    return 0;
}

// Parses the whole header text; on error h->err says what is wrong.
static int parse_dict(hparse *h, char *descr, size_t dcap, int *fortran, int64_t *dims, int *ndim) {
    int seen[3] = {0, 0, 0};
    if (expect(h, '{')) return -1;
    for (;;) {
        skip_ws(h);
        if (*h->p == '}') break;
        char key[32];
        if (parse_str(h, key, sizeof key) || expect(h, ':')) return -1;
        int k = !strcmp(key, "descr") ? 0 : !strcmp(key, "fortran_order") ? 1 : !strcmp(key, "shape") ? 2 : -1;
        if (k < 0 || seen[k]) {
            snprintf(h->err, sizeof h->err, "%s key '%s' (numpy's keys are descr, fortran_order, shape)",
                     k < 0 ? "unexpected" : "duplicate", key);
            return -1;
        }
        seen[k] = 1;
        skip_ws(h);
        if (k == 0) {
            if (*h->p == '[') {
                snprintf(h->err, sizeof h->err, "structured arrays are not supported");
                return -1;
            }
            if (parse_str(h, descr, dcap)) return -1;
        } else if (k == 1) {
            if (!strncmp(h->p, "True", 4) || !strncmp(h->p, "False", 5)) {
                *fortran = h->p[0] == 'T';
                h->p += *fortran ? 4 : 5;
            } else {
                snprintf(h->err, sizeof h->err, "fortran_order is not True or False");
                return -1;
            }
        } else if (parse_shape(h, dims, ndim)) {
            return -1;
        }
        skip_ws(h);
        if (*h->p == ',') h->p++;
        else if (*h->p != '}') {
            snprintf(h->err, sizeof h->err, "expected ',' or '}' at '%.12s'", h->p);
            return -1;
        }
    }
    h->p++;
    skip_ws(h);
    if (*h->p) {
        snprintf(h->err, sizeof h->err, "text after the dict: '%.12s'", h->p);
        return -1;
    }
    if (!seen[0] || !seen[1] || !seen[2]) {
        snprintf(h->err, sizeof h->err, "key '%s' is missing", !seen[0] ? "descr" : !seen[1] ? "fortran_order" : "shape");
        return -1;
    }
    return 0;
}

// The parsed header of a .npy image: dtype string, shape, where the data starts.
typedef struct {
    char descr[16];
    int ndim;
    int64_t dims[NPY_MAX_NDIM];
    int fortran;     // data in column-major order (fortran_order True)
    size_t data_at;  // offset of the first data byte
} npy_header;

// Parses the magic, version and header dict (descr, fortran_order, shape) of buf[0..len).
static int parse_header(const char *name, const uint8_t *buf, size_t len, npy_header *hd) {
    memset(hd, 0, sizeof *hd);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        if (len >= 4 && (!memcmp(buf, "PK\3\4", 4) || !memcmp(buf, "PK\5\6", 4)))
            return hy_err(HY_EFORMAT, "%s: is an .npz archive, not a .npy file", name);
        return hy_err(HY_EFORMAT, "%s: not a .npy file (bad magic)", name);
    }
    int major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return hy_err(HY_EFORMAT, "%s: truncated .npy header", name);
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hstart = 12;
    } else {
        return hy_err(HY_EFORMAT, "%s: unsupported .npy format version %d", name, major);
    }
    if (hlen > NPY_MAX_HEADER)
        return hy_err(HY_EFORMAT, "%s: .npy header of %zu bytes is over the limit of %d (1 MiB)", name, hlen,
                      NPY_MAX_HEADER);
    if (hlen > len - hstart)
        return hy_err(HY_EFORMAT, "%s: truncated .npy header (%zu bytes promised, %zu in the file)", name, hlen,
                      len - hstart);
    char *h = hy_malloc(hlen + 1);
    if (!h) return HY_ENOMEM;
    memcpy(h, buf + hstart, hlen);
    h[hlen] = 0;
    if (strlen(h) != hlen) {
        free(h);
        return hy_err(HY_EFORMAT, "%s: .npy header contains NUL bytes", name);
    }
    int r = HY_OK;
    hparse hp = {.p = h + strspn(h, " \t")};  // ast.literal_eval strips leading spaces and tabs too
    if (parse_dict(&hp, hd->descr, sizeof hd->descr, &hd->fortran, hd->dims, &hd->ndim)) {
        r = hy_err(HY_EFORMAT, "%s: bad .npy header: %s", name, hp.err);
        goto out;
    }
    hd->data_at = hstart + hlen;
out:
    free(h);
    return r;
}

// Requires the data after the header to be exactly count * in_size bytes.
static int check_payload(const char *name, size_t len, const npy_header *hd, size_t in_size, size_t *count) {
    size_t nbytes, payload = len - hd->data_at;
    if (hy_prod_dims(hd->dims, hd->ndim, count) || hy_mul_size(*count, in_size, &nbytes))
        return hy_err(HY_EFORMAT, "%s: shape too large", name);
    if (nbytes > payload)
        return hy_err(HY_EFORMAT, "%s: truncated: shape needs %zu data bytes, file has %zu", name, nbytes, payload);
    if (nbytes < payload) return hy_err(HY_EFORMAT, "%s: %zu extra bytes after the array data", name, payload - nbytes);
    return HY_OK;
}

int hy_npy_parse(const char *name, const uint8_t *buf, size_t len, char dtype_out, int *ndim, int64_t *dims,
              void **data) {
    *data = NULL;
    *ndim = 0;
    npy_header hd;
    int r = parse_header(name, buf, len, &hd);
    if (r) return r;
    const char *descr = hd.descr;
    int in_size;
    char kind;
    if (!strcmp(descr, "<f4")) kind = 'f', in_size = 4;
    else if (!strcmp(descr, "<f8")) kind = 'f', in_size = 8;
    else if (!strcmp(descr, "<i4")) kind = 'i', in_size = 4;
    else if (!strcmp(descr, "<i8")) kind = 'i', in_size = 8;
    else if (!strcmp(descr, "|u1") || !strcmp(descr, "|i1")) kind = 'i', in_size = 1;
    else if (!strcmp(descr, "<i2") || !strcmp(descr, "<u2")) kind = 'i', in_size = 2;
    else
        return hy_err(HY_EFORMAT, "%s: unsupported dtype '%s' (expected little-endian float32/float64%s)", name, descr,
                      dtype_out == 'i' ? " or integers" : "");
    if ((dtype_out == 'i') != (kind == 'i'))
        return hy_err(HY_EFORMAT, "%s: dtype '%s' where %s was expected", name, descr,
                      dtype_out == 'i' ? "an integer array" : "a float32/float64 array");
    size_t count, out_bytes, out_size = dtype_out == 'f' ? 4 : 8;
    if ((r = check_payload(name, len, &hd, (size_t)in_size, &count))) return r;
    if (hy_mul_size(count, out_size, &out_bytes)) return hy_err(HY_EFORMAT, "%s: shape too large", name);
    void *o = hy_malloc(out_bytes);
    if (!o) return HY_ENOMEM;
    const uint8_t *src = buf + hd.data_at;
    // Element i of the file goes to C-order index ci. Fortran order (what np.save writes for a
    // transposed array such as coef.T) stores the first index fastest: walk the multi-index
    // idx in that order and keep ci, its C-order position, in step.
    // (only when there are elements: then every dimension is >= 1 and each stride <= count; a
    // zero dimension would leave the others unbounded)
    int64_t idx[NPY_MAX_NDIM] = {0}, stride[NPY_MAX_NDIM] = {0};
    for (int k = hd.ndim - 1; k >= 0 && hd.fortran && count > 0; k--)
        stride[k] = k == hd.ndim - 1 ? 1 : stride[k + 1] * hd.dims[k + 1];
    size_t ci = 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *s = src + i * (size_t)in_size;
        double v = 0;
        int64_t iv = 0;
        if (kind == 'f' && in_size == 4) {
            float f;
            memcpy(&f, s, 4);
            v = f;
        } else if (kind == 'f') {
            memcpy(&v, s, 8);
        } else if (in_size == 1) {
            iv = descr[1] == 'u' ? (int64_t)s[0] : (int64_t)(int8_t)s[0];
        } else if (in_size == 2) {
            uint16_t u;
            memcpy(&u, s, 2);
            iv = descr[1] == 'u' ? (int64_t)u : (int64_t)(int16_t)u;
        } else if (in_size == 4) {
            int32_t t;
            memcpy(&t, s, 4);
            iv = t;
        } else {
            memcpy(&iv, s, 8);
        }
        if (!hd.fortran) ci = i;
        if (dtype_out == 'f') ((float *)o)[ci] = (float)v;
        else if (dtype_out == 'd') ((double *)o)[ci] = v;
        else ((int64_t *)o)[ci] = iv;
        for (int k = 0; hd.fortran && k < hd.ndim; k++) {  // next Fortran-order multi-index
            ci += (size_t)stride[k];
            if (++idx[k] < hd.dims[k]) break;
            ci -= (size_t)(stride[k] * hd.dims[k]);
            idx[k] = 0;
        }
    }
    for (int i = 0; i < hd.ndim; i++) dims[i] = hd.dims[i];
    *ndim = hd.ndim;
    *data = o;
    return HY_OK;
}

int hy_npy_parse_str(const char *name, const uint8_t *buf, size_t len, char *out, size_t cap) {
    out[0] = 0;
    npy_header hd;
    int r = parse_header(name, buf, len, &hd);
    if (r) return r;
    char *end;
    long n = hd.descr[0] == '<' && hd.descr[1] == 'U' ? strtol(hd.descr + 2, &end, 10) : -1;
    if (n < 1 || *end || hd.ndim != 0)
        return hy_err(HY_EFORMAT, "%s: expected a text scalar (numpy '<U' string, shape ()), found dtype '%s' with %d "
                      "dimensions", name, hd.descr, hd.ndim);
    size_t count;
    if ((r = check_payload(name, len, &hd, 4 * (size_t)n, &count))) return r;
    const uint8_t *s = buf + hd.data_at;
    size_t k = 0;
    for (long i = 0; i < n; i++, s += 4) {
        uint32_t c = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
        if (c == 0) break;  // numpy pads shorter strings with NULs
        if (c < 32 || c > 126 || k + 1 >= cap) {
            out[0] = 0;
            return hy_err(HY_EFORMAT, "%s: text must be printable ASCII of at most %zu characters", name, cap - 1);
        }
        out[k++] = (char)c;
    }
    out[k] = 0;
    return HY_OK;
}

// path: a .npy file or an array of an .npz archive (hy_npy_source, npz.c).
static int read_any(const char *path, char dt, int *ndim, int64_t *dims, void **data) {
    uint8_t *buf;
    size_t len;
    int r = hy_npy_source(path, &buf, &len);
    if (r) return r;
    r = hy_npy_parse(path, buf, len, dt, ndim, dims, data);
    free(buf);
    return r;
}

static int64_t dims_size(int ndim, const int64_t *dims) {
    int64_t s = 1;
    for (int i = 0; i < ndim; i++) s *= dims[i];
    return s;
}

int hy_npy_read_f32(const char *path, npy_f32 *out, int allow_nonfinite) {
    memset(out, 0, sizeof *out);
    void *d;
    int r = read_any(path, 'f', &out->ndim, out->dims, &d);
    if (r) return r;
    out->data = d;
    out->size = dims_size(out->ndim, out->dims);
    if (!allow_nonfinite)
        for (int64_t i = 0; i < out->size; i++)
            if (!isfinite(out->data[i])) {
                hy_npy_free_f32(out);
                return hy_err(HY_EVALUE, "%s: element %lld is NaN or Inf (or overflows float32)", path, (long long)i);
            }
    return HY_OK;
}

int hy_npy_read_f64(const char *path, npy_f64 *out, int allow_nonfinite) {
    memset(out, 0, sizeof *out);
    void *d;
    int r = read_any(path, 'd', &out->ndim, out->dims, &d);
    if (r) return r;
    out->data = d;
    out->size = dims_size(out->ndim, out->dims);
    if (!allow_nonfinite)
        for (int64_t i = 0; i < out->size; i++)
            if (!isfinite(out->data[i])) {
                hy_npy_free_f64(out);
                return hy_err(HY_EVALUE, "%s: element %lld is NaN or Inf", path, (long long)i);
            }
    return HY_OK;
}

int hy_npy_read_i64(const char *path, int *ndim, int64_t *dims, int64_t **data) {
    void *d;
    int r = read_any(path, 'i', ndim, dims, &d);
    *data = r ? NULL : d;
    return r;
}

void hy_npy_free_f32(npy_f32 *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}
void hy_npy_free_f64(npy_f64 *a) {
    free(a->data);
    memset(a, 0, sizeof *a);
}

size_t hy_npy_format_header(uint8_t *out, size_t cap, const char *descr, int ndim, const int64_t *dims) {
    if (ndim < 0 || ndim > NPY_MAX_NDIM || strlen(descr) > 15) return 0;
    char shape[512] = "(";
    size_t k = 1;
    for (int i = 0; i < ndim; i++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, "%lld,%s", (long long)dims[i], i + 1 < ndim ? " " : "");
    if (ndim > 1) shape[--k] = 0;  // numpy writes "(3,)" for 1-d and "(2, 3)" otherwise
    snprintf(shape + k, sizeof shape - k, ")");
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;  // data starts 64-byte aligned, as numpy does
    size_t hlen = (size_t)n + pad + 1;
    if (10 + hlen > cap) return 0;
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
    memcpy(out, pre, 10);
    memcpy(out + 10, hdr, (size_t)n);
    memset(out + 10 + n, ' ', pad);
    out[10 + hlen - 1] = '\n';
    return 10 + hlen;
}

int hy_npy_write_header(FILE *f, const char *descr, int ndim, const int64_t *dims) {
    uint8_t h[NPY_HEADER_MAX_WRITE];
    size_t n = hy_npy_format_header(h, sizeof h, descr, ndim, dims);
    if (!n) return hy_err(HY_EARG, "npy: bad ndim %d or dtype '%s'", ndim, descr);
    return fwrite(h, 1, n, f) == n ? HY_OK : hy_err(HY_EIO, "npy: header write failed");
}

static int write_npy(const char *path, const char *descr, int ndim, const int64_t *dims, const void *data,
                     size_t itemsize) {
    size_t count;
    if (ndim < 0 || ndim > NPY_MAX_NDIM || hy_prod_dims(dims, ndim, &count))
        return hy_err(HY_EARG, "%s: bad shape", path);
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    int bad = hy_npy_write_header(o.fp, descr, ndim, dims) != HY_OK;
    if (!bad && count) bad |= fwrite(data, itemsize, count, o.fp) != count;
    if (bad) {
        hy_out_abort(&o);
        return hy_err(HY_EIO, "%s: write failed", path);
    }
    return hy_out_commit(&o);
}

int hy_npy_write_f32(const char *path, int ndim, const int64_t *dims, const float *data) {
    return write_npy(path, "<f4", ndim, dims, data, 4);
}
int hy_npy_write_f64(const char *path, int ndim, const int64_t *dims, const double *data) {
    return write_npy(path, "<f8", ndim, dims, data, 8);
}
int hy_npy_write_i64(const char *path, int ndim, const int64_t *dims, const int64_t *data) {
    return write_npy(path, "<i8", ndim, dims, data, 8);
}
