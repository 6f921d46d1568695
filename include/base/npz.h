// npz.h - reading NumPy .npz archives (np.savez, np.savez_compressed): a zip file whose
// members are .npy files, one per array ("weight.npy" holds the array named "weight").
//
//   npz_file z;
//   if (hy_npz_open(&z, "init.npz")) ...                    // reads and checks the directory
//   npy_f32 w;
//   if (hy_npz_read_f32(&z, "weight", &w, 0)) ...          // inflates, checks CRC, parses
//   hy_npz_close(&z);
//
// Open reads the whole file and checks the zip structure: the end record, every central
// directory entry and its local header (same name, sizes inside the file, compression stored
// or deflate, no encryption), unique member names. A read inflates one member (zlib, raw
// deflate), requires exactly the declared sizes and the member's CRC-32, then parses the
// bytes with the .npy reader (include/base/npy.h), so dtype/shape/finiteness rules are the
// same as for .npy files. ZIP64 extra fields in headers (numpy always writes them) are
// read; ZIP64 end records (archives over 4 GiB or 65535 members) and multi-disk archives are
// refused. Every error names the file and, where there is one, the member.
#ifndef HY_NPZ_H
#define HY_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "base/npy.h"

typedef struct {
    char name[256];     // member name as stored ("weight.npy")
    uint64_t data_at;   // offset of the member's (compressed) bytes in the file
    uint64_t csize;     // compressed size
    uint64_t usize;     // uncompressed size
    uint32_t crc;       // CRC-32 of the uncompressed bytes
    int method;         // 0 stored, 8 deflate
} npz_member;

typedef struct {
    char path[1024];
    uint8_t *buf;       // the whole file
    size_t size;
    int n;              // number of members
    npz_member *members;
} npz_file;

// Opens and checks an archive; on error *z is left empty (hy_npz_close is still safe).
int hy_npz_open(npz_file *z, const char *path);
// The same from memory (buf is copied; name is used in messages).
int hy_npz_open_mem(npz_file *z, const char *name, const uint8_t *buf, size_t len);
void hy_npz_close(npz_file *z);

// The member holding array `name` ("weight" finds "weight.npy"; a name ending in ".npy"
// is taken as is); NULL when absent (no error set).
const npz_member *hy_npz_find(const npz_file *z, const char *name);

// Array `name` converted as hy_npy_parse does (dtype_out 'f' float32, 'd' float64, 'i' int64).
// *data is malloc'd. A missing array is HY_EFORMAT naming the file and the arrays it has.
int hy_npz_read(const npz_file *z, const char *name, char dtype_out, int *ndim, int64_t *dims, void **data);
// Float32 / float64 arrays; non-finite values are an error unless allow_nonfinite.
int hy_npz_read_f32(const npz_file *z, const char *name, npy_f32 *out, int allow_nonfinite);
int hy_npz_read_f64(const npz_file *z, const char *name, npy_f64 *out, int allow_nonfinite);

// The uncompressed, CRC-checked bytes of member m (a .npy image); *out is malloc'd.
int hy_npz_member_bytes(const npz_file *z, const npz_member *m, uint8_t **out);
// A text scalar (np.array('ridge'), dtype '<Un') as printable ASCII (hy_npy_parse_str).
int hy_npz_read_str(const npz_file *z, const char *name, char *out, size_t cap);

// --- an array named by a path -------------------------------------------------------------
// The bytes of one .npy image named by spec: a .npy file; "FILE.npz:NAME", array NAME of an
// archive; or a bare "FILE.npz" holding exactly one array (several: an error listing them and
// saying to pick one as FILE.npz:NAME). Archives are told by their content (a zip file), not
// their name. A spec that exists as a path is never split at ':'; otherwise it splits at the
// last ':' when the part before it exists. *npy is malloc'd. The .npy readers (npy.h) and the
// dataset reader (study/dataset.h) take their paths through this.
int hy_npy_source(const char *spec, uint8_t **npy, size_t *len);

// --- writing ------------------------------------------------------------------------------
// One array to write: float32 / float64 / int64 data in C order with its shape, or a text
// scalar (NPZ_STR: printable ASCII, written as numpy's 0-d '<Un', read back by numpy as str).
typedef enum { NPZ_F32, NPZ_F64, NPZ_I64, NPZ_STR } npz_dtype;
typedef struct {
    const char *name;  // array name (member "<name>.npy"); a Python identifier keeps np.load(f).name working
    npz_dtype dtype;
    int ndim;
    const int64_t *dims;
    const void *data;
    const char *text;  // NPZ_STR only
} npz_array;

// Writes arrays[0..n) as path atomically (tmp + rename): stored members as np.savez writes
// them, or deflated as np.savez_compressed (compress = 1). Names must be unique; archives over
// 4 GiB are refused (no ZIP64).
int hy_npz_write(const char *path, const npz_array *arrays, int n, int compress);

#endif
