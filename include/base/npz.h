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

#endif
