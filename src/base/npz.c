// npz.c - .npz reader: the zip container (PKWARE APPNOTE 6.3: end of central directory
// record, central directory, local headers, ZIP64 extra fields) around .npy members.
// See include/base/npz.h for what is accepted and refused.
//
// Layout read here (all little endian):
//   local header  "PK\3\4" ver flags method time date crc csize usize nlen xlen, name, extra, data
//   central entry "PK\1\2" ver_made ver flags method time date crc csize usize nlen xlen clen
//                 disk iattr eattr local_offset, name, extra, comment
//   end record    "PK\5\6" disk cd_disk n_disk n_total cd_size cd_offset clen, comment
// A 32-bit size or offset of 0xFFFFFFFF means "see the ZIP64 extra field (id 1)", which holds
// the 64-bit usize, csize, local_offset in that order, each only when its field is 0xFFFFFFFF.
#include "base/npz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>  // inflate (raw deflate)

#include "base/common.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64_LOCATOR 0x07064b50u
#define ZIP_MAX_MEMBERS 65535
// deflate cannot expand data more than ~1032:1; larger claims are corrupt (or a zip bomb)
#define DEFLATE_MAX_RATIO 1040

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

void hy_npz_close(npz_file *z) {
    free(z->buf);
    free(z->members);
    memset(z, 0, sizeof *z);
}

// Replaces 0xFFFFFFFF sizes/offset by the values of the ZIP64 extra field in extra[0..xlen).
static int zip64_fields(const npz_file *z, const char *member, const uint8_t *extra, size_t xlen, uint64_t *usize,
                        uint64_t *csize, uint64_t *offset) {
    uint64_t *want[3] = {usize, csize, offset};
    int need = 0;
    for (int i = 0; i < 3; i++) need |= want[i] && *want[i] == 0xffffffffu;
    if (!need) return HY_OK;
    for (size_t at = 0; at + 4 <= xlen;) {
        uint16_t id = rd16(extra + at), len = rd16(extra + at + 2);
        if (at + 4 + len > xlen) break;
        if (id == 1) {
            size_t k = 0;
            for (int i = 0; i < 3; i++) {
                if (!want[i] || *want[i] != 0xffffffffu) continue;
                if (8 * (k + 1) > len) return hy_err(HY_EFORMAT, "%s: %s: ZIP64 extra field too short", z->path, member);
                *want[i] = rd64(extra + at + 4 + 8 * k++);
            }
            return HY_OK;
        }
        at += 4 + (size_t)len;
    }
    return hy_err(HY_EFORMAT, "%s: %s: size field says ZIP64 but there is no ZIP64 extra field", z->path, member);
}

// Finds the end-of-central-directory record (searching back over a comment of up to 64 KiB).
static int find_end(const npz_file *z, size_t *at) {
    if (z->size < 22) return hy_err(HY_EFORMAT, "%s: not an .npz file (too short for a zip archive)", z->path);
    size_t lo = z->size > 22 + 65535 ? z->size - 22 - 65535 : 0;
    for (size_t p = z->size - 22 + 1; p-- > lo;)
        if (rd32(z->buf + p) == SIG_END && p + 22 + rd16(z->buf + p + 20) == z->size) {
            *at = p;
            return HY_OK;
        }
    return hy_err(HY_EFORMAT, "%s: not an .npz file (no zip end record; truncated?)", z->path);
}

// Checks member m's local header at `off` against its central entry and sets m->data_at.
static int check_local(const npz_file *z, npz_member *m, uint64_t off, uint16_t flags) {
    if (off > z->size || z->size - off < 30 || rd32(z->buf + off) != SIG_LOCAL)
        return hy_err(HY_EFORMAT, "%s: %s: local header missing or outside the file (truncated?)", z->path, m->name);
    const uint8_t *h = z->buf + off;
    size_t nlen = rd16(h + 26), xlen = rd16(h + 28);
    if (z->size - off - 30 < nlen + xlen)
        return hy_err(HY_EFORMAT, "%s: %s: local header runs past the end of the file", z->path, m->name);
    if (nlen != strlen(m->name) || memcmp(h + 30, m->name, nlen) != 0)
        return hy_err(HY_EFORMAT, "%s: %s: local header names another member", z->path, m->name);
    if (rd16(h + 8) != m->method) return hy_err(HY_EFORMAT, "%s: %s: local and central compression differ", z->path, m->name);
    if (!(flags & 8)) {  // sizes are in the local header too (no data descriptor): they must agree
        uint64_t us = rd32(h + 22), cs = rd32(h + 18);
        int r = zip64_fields(z, m->name, h + 30 + nlen, xlen, &us, &cs, NULL);
        if (r) return r;
        if (us != m->usize || cs != m->csize || rd32(h + 14) != m->crc)
            return hy_err(HY_EFORMAT, "%s: %s: local and central header disagree on sizes or CRC", z->path, m->name);
    }
    m->data_at = off + 30 + nlen + xlen;
    if (m->data_at > z->size || z->size - m->data_at < m->csize)
        return hy_err(HY_EFORMAT, "%s: %s: data runs past the end of the file (truncated?)", z->path, m->name);
    return HY_OK;
}

// Parses central entry number i at *at (advanced past it) into z->members[i].
static int parse_central(npz_file *z, int i, size_t *at, size_t cd_end) {
    const uint8_t *e = z->buf + *at;
    if (cd_end - *at < 46 || rd32(e) != SIG_CENTRAL)
        return hy_err(HY_EFORMAT, "%s: central directory entry %d is damaged", z->path, i);
    size_t nlen = rd16(e + 28), xlen = rd16(e + 30), clen = rd16(e + 32);
    if (cd_end - *at - 46 < nlen + xlen + clen)
        return hy_err(HY_EFORMAT, "%s: central directory entry %d runs past the directory", z->path, i);
    npz_member *m = &z->members[i];
    if (nlen == 0 || nlen >= sizeof m->name || memchr(e + 46, 0, nlen))
        return hy_err(HY_EFORMAT, "%s: member %d has an empty, overlong or binary name", z->path, i);
    memcpy(m->name, e + 46, nlen);
    m->name[nlen] = 0;
    uint16_t flags = rd16(e + 8);
    m->method = rd16(e + 10);
    m->crc = rd32(e + 16);
    m->csize = rd32(e + 20);
    m->usize = rd32(e + 24);
    uint64_t off = rd32(e + 42);
    if (flags & 1) return hy_err(HY_EFORMAT, "%s: %s: encrypted members are not supported", z->path, m->name);
    if (m->method != 0 && m->method != 8)
        return hy_err(HY_EFORMAT, "%s: %s: compression method %d (only stored or deflate)", z->path, m->name, m->method);
    if (rd16(e + 34) != 0 && rd16(e + 34) != 0xffff)
        return hy_err(HY_EFORMAT, "%s: %s: multi-disk archives are not supported", z->path, m->name);
    int r = zip64_fields(z, m->name, e + 46 + nlen, xlen, &m->usize, &m->csize, &off);
    if (r) return r;
    if (m->method == 0 && m->csize != m->usize)
        return hy_err(HY_EFORMAT, "%s: %s: stored member with different sizes", z->path, m->name);
    if (m->usize > HY_MAX_FILE_BYTES || (m->method == 8 && m->usize / DEFLATE_MAX_RATIO > m->csize + 1))
        return hy_err(HY_EFORMAT, "%s: %s: claims %llu bytes from %llu compressed (corrupt)", z->path, m->name,
                      (unsigned long long)m->usize, (unsigned long long)m->csize);
    for (int j = 0; j < i; j++)
        if (!strcmp(z->members[j].name, m->name))
            return hy_err(HY_EFORMAT, "%s: member %s appears twice", z->path, m->name);
    *at += 46 + nlen + xlen + clen;
    return check_local(z, m, off, flags);
}

// Reads the end record and every central entry; z->buf/size/path are set.
static int parse_directory(npz_file *z) {
    size_t end = 0;
    int r = find_end(z, &end);
    if (r) return r;
    const uint8_t *e = z->buf + end;
    uint32_t n_disk = rd16(e + 8), n_total = rd16(e + 10), cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    if ((end >= 20 && rd32(z->buf + end - 20) == SIG_END64_LOCATOR) || n_total == 0xffff || cd_size == 0xffffffffu ||
        cd_off == 0xffffffffu)
        return hy_err(HY_EFORMAT, "%s: ZIP64 archives (over 4 GiB or 65535 members) are not supported", z->path);
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || n_disk != n_total)
        return hy_err(HY_EFORMAT, "%s: multi-disk zip archives are not supported", z->path);
    if ((uint64_t)cd_off + cd_size > end)
        return hy_err(HY_EFORMAT, "%s: central directory lies outside the file (truncated?)", z->path);
    if (n_total == 0) return hy_err(HY_EFORMAT, "%s: the archive holds no arrays", z->path);
    if (!(z->members = hy_calloc(n_total, sizeof *z->members))) return HY_ENOMEM;
    size_t at = cd_off;
    for (uint32_t i = 0; i < n_total; i++) {
        if ((r = parse_central(z, (int)i, &at, (size_t)cd_off + cd_size))) return r;
        z->n = (int)i + 1;
    }
    if (at != (size_t)cd_off + cd_size)
        return hy_err(HY_EFORMAT, "%s: central directory size disagrees with its %u entries", z->path, n_total);
    return HY_OK;
}

int hy_npz_open_mem(npz_file *z, const char *name, const uint8_t *buf, size_t len) {
    memset(z, 0, sizeof *z);
    snprintf(z->path, sizeof z->path, "%s", name);
    if (!(z->buf = hy_malloc(len + 1))) return HY_ENOMEM;
    memcpy(z->buf, buf, len);
    z->size = len;
    int r = parse_directory(z);
    if (r) hy_npz_close(z);
    return r;
}

int hy_npz_open(npz_file *z, const char *path) {
    memset(z, 0, sizeof *z);
    uint8_t *buf;
    size_t len;
    int r = hy_read_file(path, &buf, &len, 0);
    if (r) return r;
    snprintf(z->path, sizeof z->path, "%s", path);
    z->buf = buf;
    z->size = len;
    if ((r = parse_directory(z))) hy_npz_close(z);
    return r;
}

const npz_member *hy_npz_find(const npz_file *z, const char *name) {
    char want[300];
    size_t l = strlen(name);
    snprintf(want, sizeof want, "%s%s", name, l > 4 && !strcmp(name + l - 4, ".npy") ? "" : ".npy");
    for (int i = 0; i < z->n; i++)
        if (!strcmp(z->members[i].name, want)) return &z->members[i];
    return NULL;
}

// Raw inflate of exactly m->csize bytes into exactly m->usize bytes.
static int inflate_member(const npz_file *z, const npz_member *m, uint8_t *out) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) return hy_err(HY_ENOMEM, "%s: %s: zlib init failed", z->path, m->name);
    const uint8_t *src = z->buf + m->data_at;
    uint64_t in_left = m->csize, out_left = m->usize;
    int zr = Z_OK;
    s.next_out = out;
    while (zr == Z_OK) {  // zlib counts in 32 bits: feed at most 1 GiB per call
        if (!s.avail_in && in_left) {
            s.next_in = (Bytef *)src;
            s.avail_in = (uInt)(in_left < (1u << 30) ? in_left : (1u << 30));
            src += s.avail_in;
            in_left -= s.avail_in;
        }
        if (!s.avail_out && out_left) {
            s.avail_out = (uInt)(out_left < (1u << 30) ? out_left : (1u << 30));
            out_left -= s.avail_out;
        }
        zr = inflate(&s, Z_NO_FLUSH);
        if (zr == Z_BUF_ERROR && (s.avail_in || in_left) && (s.avail_out || out_left)) zr = Z_OK;
    }
    int ok = zr == Z_STREAM_END && s.avail_in == 0 && in_left == 0 && s.avail_out == 0 && out_left == 0;
    inflateEnd(&s);
    if (!ok)
        return hy_err(HY_EFORMAT, "%s: %s: compressed data is damaged or does not match its sizes", z->path, m->name);
    return HY_OK;
}

int hy_npz_member_bytes(const npz_file *z, const npz_member *m, uint8_t **out) {
    *out = NULL;
    uint8_t *b = hy_malloc((size_t)m->usize + 1);
    if (!b) return HY_ENOMEM;
    int r = HY_OK;
    if (m->method == 0) memcpy(b, z->buf + m->data_at, (size_t)m->usize);
    else r = inflate_member(z, m, b);
    if (!r && hy_crc32(0, b, (size_t)m->usize) != m->crc)
        r = hy_err(HY_ECRC, "%s: %s: CRC-32 mismatch (the archive is damaged)", z->path, m->name);
    if (r) free(b);
    else *out = b;
    return r;
}

// "a, b, c": the array names of z (member names without ".npy").
static void list_arrays(const npz_file *z, char *out, size_t cap) {
    size_t at = 0;
    out[0] = 0;
    for (int i = 0; i < z->n && at < cap - 1; i++) {
        size_t l = strlen(z->members[i].name);
        if (l > 4 && !strcmp(z->members[i].name + l - 4, ".npy")) l -= 4;
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s", i ? ", " : "", (int)l, z->members[i].name);
    }
}

int hy_npz_read(const npz_file *z, const char *name, char dtype_out, int *ndim, int64_t *dims, void **data) {
    *data = NULL;
    const npz_member *m = hy_npz_find(z, name);
    if (!m) {
        char have[512];
        list_arrays(z, have, sizeof have);
        return hy_err(HY_EFORMAT, "%s: no array '%s' (it has: %s)", z->path, name, have);
    }
    uint8_t *bytes;
    int r = hy_npz_member_bytes(z, m, &bytes);
    if (r) return r;
    char label[1400];
    snprintf(label, sizeof label, "%s:%s", z->path, name);
    r = hy_npy_parse(label, bytes, (size_t)m->usize, dtype_out, ndim, dims, data);
    free(bytes);
    return r;
}

// Elements of a member hy_npy_parse has read (its dims were checked there, so this cannot overflow).
static int64_t count(int ndim, const int64_t *dims) {
    size_t n = 0;
    return hy_prod_dims(dims, ndim, &n) ? 0 : (int64_t)n;
}

int hy_npz_read_f32(const npz_file *z, const char *name, npy_f32 *out, int allow_nonfinite) {
    memset(out, 0, sizeof *out);
    void *d;
    int r = hy_npz_read(z, name, 'f', &out->ndim, out->dims, &d);
    if (r) return r;
    out->data = d;
    out->size = count(out->ndim, out->dims);
    for (int64_t i = 0; !allow_nonfinite && i < out->size; i++)
        if (!isfinite(out->data[i])) {
            hy_npy_free_f32(out);
            return hy_err(HY_EVALUE, "%s:%s: element %lld is NaN or Inf (or overflows float32)", z->path, name,
                          (long long)i);
        }
    return HY_OK;
}

int hy_npz_read_f64(const npz_file *z, const char *name, npy_f64 *out, int allow_nonfinite) {
    memset(out, 0, sizeof *out);
    void *d;
    int r = hy_npz_read(z, name, 'd', &out->ndim, out->dims, &d);
    if (r) return r;
    out->data = d;
    out->size = count(out->ndim, out->dims);
    for (int64_t i = 0; !allow_nonfinite && i < out->size; i++)
        if (!isfinite(out->data[i])) {
            hy_npy_free_f64(out);
            return hy_err(HY_EVALUE, "%s:%s: element %lld is NaN or Inf", z->path, name, (long long)i);
        }
    return HY_OK;
}

int hy_npz_read_str(const npz_file *z, const char *name, char *out, size_t cap) {
    out[0] = 0;
    const npz_member *m = hy_npz_find(z, name);
    if (!m) {
        char have[512];
        list_arrays(z, have, sizeof have);
        return hy_err(HY_EFORMAT, "%s: no array '%s' (it has: %s)", z->path, name, have);
    }
    uint8_t *bytes;
    int r = hy_npz_member_bytes(z, m, &bytes);
    if (r) return r;
    char label[1400];
    snprintf(label, sizeof label, "%s:%s", z->path, name);
    r = hy_npy_parse_str(label, bytes, (size_t)m->usize, out, cap);
    free(bytes);
    return r;
}

// --- one array named by a path (every .npy reader goes through this) -----------------------

// Splits "FILE:NAME" into the file and the array name when spec itself is not an existing
// path but the part before its last ':' is; otherwise the whole spec is the file.
static void split_spec(const char *spec, char *file, size_t cap, const char **name) {
    *name = NULL;
    snprintf(file, cap, "%s", spec);
    const char *colon = strrchr(spec, ':');
    if (!colon || hy_path_exists(spec) || (size_t)(colon - spec) >= cap) return;
    file[colon - spec] = 0;
    if (hy_path_exists(file)) *name = colon + 1;
    else snprintf(file, cap, "%s", spec);
}

int hy_npy_source(const char *spec, uint8_t **npy, size_t *len) {
    *npy = NULL;
    *len = 0;
    char file[1024];
    const char *name;
    split_spec(spec, file, sizeof file, &name);
    uint8_t *buf;
    size_t n;
    int r = hy_read_file(file, &buf, &n, 0);
    if (r) return r;
    int zip = n >= 4 && (!memcmp(buf, "PK\3\4", 4) || !memcmp(buf, "PK\5\6", 4));
    if (!zip && !name) {  // a plain .npy file: its bytes as they are
        *npy = buf;
        *len = n;
        return HY_OK;
    }
    if (!zip) {
        free(buf);
        return hy_err(HY_EFORMAT, "%s: not an .npz archive (\":%s\" picks an array of an .npz file)", file, name);
    }
    npz_file z;  // takes over buf
    memset(&z, 0, sizeof z);
    snprintf(z.path, sizeof z.path, "%s", file);
    z.buf = buf;
    z.size = n;
    if ((r = parse_directory(&z))) {
        hy_npz_close(&z);
        return r;
    }
    const npz_member *m = NULL;
    char have[512];
    list_arrays(&z, have, sizeof have);
    if (name && !(m = hy_npz_find(&z, name)))
        r = hy_err(HY_EFORMAT, "%s: no array '%s' (it has: %s)", file, name, have);
    else if (!name && z.n != 1)
        r = hy_err(HY_EFORMAT, "%s: holds %d arrays (%s); pick one as %s:NAME", file, z.n, have, file);
    else if (!name)
        m = &z.members[0];
    if (!r) {
        r = hy_npz_member_bytes(&z, m, npy);
        if (!r) *len = (size_t)m->usize;
    }
    hy_npz_close(&z);
    return r;
}
