// npz_write.c - .npz writer: named arrays as .npy members of a zip archive, stored (as
// np.savez writes them) or deflated (np.savez_compressed). See include/base/npz.h.
//
// Layout written (PKWARE APPNOTE 6.3, little endian; the reader in npz.c documents the fields):
//   per member: local header (30 bytes + name), the member's bytes (stored or raw deflate)
//   central directory: one entry per member (46 bytes + name)
//   end record (22 bytes)
// No ZIP64: an archive over 4 GiB is refused (decoders and datasets are far smaller). The
// modification time is fixed (1980-01-01 00:00), so the same arrays give the same bytes.
#include <stdlib.h>
#include <string.h>
#include <zlib.h>  // crc32 (via hy_crc32), deflate

#include "base/common.h"
#include "base/npz.h"

#define ZIP_DATE_1980_01_01 0x0021  // (year - 1980) << 9 | month << 5 | day

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

// The .npy image of one array (header + data) into *out (malloc'd).
static int npy_image(const npz_array *a, uint8_t **out, size_t *len) {
    *out = NULL;
    char descr[32];
    size_t count = 1, item;
    if (a->dtype == NPZ_STR) {
        size_t n = strlen(a->text);
        if (n > 4096) return hy_err(HY_EARG, "array '%s': text over 4096 characters", a->name);
        item = 4 * (n ? n : 1);  // UTF-32LE, numpy's '<U' layout; '<U0' is not a valid dtype
        snprintf(descr, sizeof descr, "<U%zu", n ? n : 1);
    } else {
        item = a->dtype == NPZ_F32 ? 4 : 8;
        snprintf(descr, sizeof descr, "%s", a->dtype == NPZ_F32 ? "<f4" : a->dtype == NPZ_F64 ? "<f8" : "<i8");
        if (hy_prod_dims(a->dims, a->ndim, &count)) return hy_err(HY_EARG, "array '%s': bad shape", a->name);
    }
    uint8_t hdr[NPY_HEADER_MAX_WRITE];
    size_t h = hy_npy_format_header(hdr, sizeof hdr, descr, a->dtype == NPZ_STR ? 0 : a->ndim, a->dims);
    size_t data;
    if (!h || hy_mul_size(count, item, &data) || data > 0xffffffffu - NPY_HEADER_MAX_WRITE)
        return hy_err(HY_EARG, "array '%s': bad shape or over 4 GiB", a->name);
    uint8_t *b = hy_malloc(h + data);
    if (!b) return HY_ENOMEM;
    memcpy(b, hdr, h);
    if (a->dtype == NPZ_STR) {
        memset(b + h, 0, data);
        for (size_t i = 0; a->text[i]; i++) b[h + 4 * i] = (uint8_t)a->text[i];  // ASCII: the low byte
    } else if (data) {
        memcpy(b + h, a->data, data);
    }
    *out = b;
    *len = h + data;
    return HY_OK;
}

// Raw deflate (no zlib header, as zip members are) of in[0..n) into *out (malloc'd).
static int deflate_raw(const uint8_t *in, size_t n, uint8_t **out, size_t *olen) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return hy_err(HY_ENOMEM, "zlib init failed");
    size_t cap = deflateBound(&s, (uLong)n) + 64;
    uint8_t *b = hy_malloc(cap);
    if (!b) {
        deflateEnd(&s);
        return HY_ENOMEM;
    }
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;  // n < 4 GiB (checked by the caller)
    s.next_out = b;
    s.avail_out = (uInt)cap;
    int zr = deflate(&s, Z_FINISH);
    *olen = cap - s.avail_out;
    deflateEnd(&s);
    if (zr != Z_STREAM_END) {
        free(b);
        return hy_err(HY_ENOMEM, "zlib deflate failed");
    }
    *out = b;
    return HY_OK;
}

// One member's header fields, kept for the central directory.
typedef struct {
    uint32_t crc, csize, usize, offset;
    char name[260];
} entry;

static int write_member(FILE *f, const npz_array *a, int compress, entry *e, uint64_t *at) {
    uint8_t *img = NULL, *z = NULL;
    size_t len = 0, zlen = 0;
    int r = npy_image(a, &img, &len);
    if (!r && compress) r = deflate_raw(img, len, &z, &zlen);
    if (r) {
        free(img);
        return r;
    }
    const uint8_t *payload = compress ? z : img;
    size_t plen = compress ? zlen : len;
    snprintf(e->name, sizeof e->name, "%s.npy", a->name);
    size_t nlen = strlen(e->name);
    e->crc = hy_crc32(0, img, len);
    e->usize = (uint32_t)len;
    e->csize = (uint32_t)plen;
    e->offset = (uint32_t)*at;
    uint8_t h[30] = {0};
    put32(h, 0x04034b50u);
    put16(h + 4, 20);  // version needed: 2.0 (deflate)
    put16(h + 8, compress ? 8 : 0);
    put16(h + 12, ZIP_DATE_1980_01_01);
    put32(h + 14, e->crc);
    put32(h + 18, e->csize);
    put32(h + 22, e->usize);
    put16(h + 26, (uint32_t)nlen);
    int bad = fwrite(h, 1, 30, f) != 30 || fwrite(e->name, 1, nlen, f) != nlen || fwrite(payload, 1, plen, f) != plen;
    *at += 30 + nlen + plen;
    free(img);
    free(z);
    return bad ? HY_EIO : HY_OK;
}

int hy_npz_write(const char *path, const npz_array *arrays, int n, int compress) {
    if (n < 1 || n > 4096) return hy_err(HY_EARG, "%s: %d arrays (1..4096)", path, n);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(arrays[i].name);
        if (l == 0 || l > 250) return hy_err(HY_EARG, "%s: array name '%s' is empty or too long", path, arrays[i].name);
        for (int j = 0; j < i; j++)
            if (!strcmp(arrays[i].name, arrays[j].name))
                return hy_err(HY_EARG, "%s: array name '%s' given twice", path, arrays[i].name);
    }
    entry *es = hy_calloc((size_t)n, sizeof *es);
    if (!es) return HY_ENOMEM;
    hy_outfile o;
    int r = hy_out_open(&o, path);
    uint64_t at = 0;
    for (int i = 0; i < n && !r; i++) {
        r = write_member(o.fp, &arrays[i], compress, &es[i], &at);
        if (!r && at >= 0xffffffffu) r = hy_err(HY_EARG, "%s: archive over 4 GiB (not supported)", path);
        else if (r == HY_EIO) r = hy_err(HY_EIO, "%s: write failed", path);
    }
    uint64_t cd_at = at;
    for (int i = 0; i < n && !r; i++) {  // central directory
        uint8_t c[46] = {0};
        size_t nlen = strlen(es[i].name);
        put32(c, 0x02014b50u);
        put16(c + 4, 20);  // made by: MS-DOS, version 2.0 (no Unix attributes)
        put16(c + 6, 20);
        put16(c + 10, compress ? 8 : 0);
        put16(c + 14, ZIP_DATE_1980_01_01);
        put32(c + 16, es[i].crc);
        put32(c + 20, es[i].csize);
        put32(c + 24, es[i].usize);
        put16(c + 28, (uint32_t)nlen);
        put32(c + 42, es[i].offset);
        if (fwrite(c, 1, 46, o.fp) != 46 || fwrite(es[i].name, 1, nlen, o.fp) != nlen)
            r = hy_err(HY_EIO, "%s: write failed", path);
        at += 46 + nlen;
    }
    if (!r) {
        uint8_t e[22] = {0};
        put32(e, 0x06054b50u);
        put16(e + 8, (uint32_t)n);
        put16(e + 10, (uint32_t)n);
        put32(e + 12, (uint32_t)(at - cd_at));
        put32(e + 16, (uint32_t)cd_at);
        if (fwrite(e, 1, 22, o.fp) != 22) r = hy_err(HY_EIO, "%s: write failed", path);
    }
    free(es);
    if (r) {
        if (o.fp) hy_out_abort(&o);
        return r;
    }
    return hy_out_commit(&o);
}
