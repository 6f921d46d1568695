// npy.h - reading and writing NumPy .npy files (format versions 1.0, 2.0, 3.0).
//
// Reading accepts little-endian float32 ('<f4') and float64 ('<f8') (plus '<i4','<i8' for
// index arrays via npy_read_i64), any ndim 0..8, C or Fortran order (a transposed array as
// np.save writes it; returned in C order), and converts to float32 or keeps float64 on
// request. Anything else (big-endian, object arrays, other dtypes, truncated data, header
// lying about sizes) is an error naming the file.
// Writing produces version 1.0 '<f4' / '<f8' / '<i8' C-order files atomically.
//
// Every reader's path may also name an array inside an .npz archive (np.savez /
// np.savez_compressed): "FILE.npz:NAME" is array NAME, and a bare "FILE.npz" is its only array
// (see hy_npy_source in include/base/npz.h). Messages then name "FILE.npz:NAME".
#ifndef HY_NPY_H
#define HY_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPY_MAX_NDIM 8

typedef struct {
    int ndim;
    int64_t dims[NPY_MAX_NDIM];
    int64_t size;  // product of dims (1 for a 0-d array)
    float *data;   // owned, float32, C order
} npy_f32;

typedef struct {
    int ndim;
    int64_t dims[NPY_MAX_NDIM];
    int64_t size;
    double *data;  // owned, float64
} npy_f64;

// Reads f4 or f8 data converted to float32. Non-finite values are an error unless allow_nonfinite.
int hy_npy_read_f32(const char *path, npy_f32 *out, int allow_nonfinite);
int hy_npy_read_f64(const char *path, npy_f64 *out, int allow_nonfinite);
// Reads an integer array ('<i4', '<i8', '<u1'...'<u8' small ints) as int64.
int hy_npy_read_i64(const char *path, int *ndim, int64_t *dims, int64_t **data);
void hy_npy_free_f32(npy_f32 *a);
void hy_npy_free_f64(npy_f64 *a);

// Parses an in-memory .npy image (used by the readers and the fuzz target).
// dtype_out: 'f' (float32), 'd' (float64) or 'i' (int64). *data is malloc'd.
int hy_npy_parse(const char *name, const uint8_t *buf, size_t len, char dtype_out, int *ndim,
              int64_t *dims, void **data);

// A 0-d numpy text scalar (dtype '<Un', e.g. np.array('ridge')) of printable ASCII into out
// (at most cap - 1 characters); anything else is HY_EFORMAT naming `name`.
int hy_npy_parse_str(const char *name, const uint8_t *buf, size_t len, char *out, size_t cap);

// Writes atomically.
// Writes just a version-1.0 header for a C-order array of dtype descr ("<f4", "<f8", "<i8"), so a
// caller can stream the data after it (e.g. into an hy_outfile). Returns 0 or HY_EIO.
int hy_npy_write_header(FILE *f, const char *descr, int ndim, const int64_t *dims);
// The same header into out[0..cap); returns its length (a multiple of 64), 0 when it does not
// fit or descr/ndim are unusable. NPY_HEADER_MAX_WRITE bytes always suffice.
#define NPY_HEADER_MAX_WRITE 1152
size_t hy_npy_format_header(uint8_t *out, size_t cap, const char *descr, int ndim, const int64_t *dims);
int hy_npy_write_f32(const char *path, int ndim, const int64_t *dims, const float *data);
int hy_npy_write_f64(const char *path, int ndim, const int64_t *dims, const double *data);
int hy_npy_write_i64(const char *path, int ndim, const int64_t *dims, const int64_t *data);

#endif
