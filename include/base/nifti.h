// nifti.h - NIfTI-1 single-file volumes (.nii, .nii.gz) for fMRI response maps and masks.
//
// Reads magic "n+1" files, either byte order (detected from sizeof_hdr = 348), plain or
// gzip-compressed (zlib gz* reads both transparently), datatypes uint8 (2), int16 (4),
// int32 (8), float32 (16), float64 (64), applying scl_slope / scl_inter when scl_slope is
// non-zero. Data keep NIfTI's order: x fastest, then y, z, t (flat index
// x + nx*(y + ny*(z + nz*t))). Not supported (clear errors): NIfTI-2, separate .hdr/.img
// pairs ("ni1"), other datatypes, truncated data, corrupt gzip streams.
#ifndef HY_NIFTI_H
#define HY_NIFTI_H

#include <stddef.h>
#include <stdint.h>

// Largest volume accepted (2^31 voxels = 16 GiB as float64). Reading also requires the file
// to hold vox_offset + voxel bytes (plain) or at least 1/1032 of that (gzip) before allocating.
// Memory: the stored bytes plus the float64 copy, (itemsize + 8) bytes per voxel: at most 9x a
// plain file's size; for gzip at most NIFTI_MAX_EXPANSION x the compressed size + NIFTI_FREE_BYTES
// (a volume that would need more is refused before anything is allocated).
#define NIFTI_MAX_VOXELS ((int64_t)1 << 31)
#define NIFTI_MAX_EXPANSION 1032
#define NIFTI_FREE_BYTES (64 << 20)

enum { NII_UINT8 = 2, NII_INT16 = 4, NII_INT32 = 8, NII_FLOAT32 = 16, NII_FLOAT64 = 64 };

typedef struct {
    int ndim;          // dim[0] of the header, 1..7
    int64_t dim[7];    // sizes (x, y, z, t, ...); 1 past ndim (a 2-D image is x, y, 1)
    int64_t nvox;      // product of dim
    int datatype;
    double slope, inter;
    double *data;      // (nvox) scaled values, NIfTI order
} nifti_img;

int hy_nifti_read(const char *path, nifti_img *img);
// The same on a file image in memory (plain or gzip); name is used in error messages.
int hy_nifti_read_mem(const char *name, const uint8_t *buf, size_t len, nifti_img *img);
void hy_nifti_free(nifti_img *img);

// Writes a volume (atomically; gzip when the path ends in .gz). Values are stored with the
// given datatype (rounded for integer types) and scl_slope/scl_inter recorded as given
// (slope 0 = no scaling); big_endian selects the byte order. For tests and tools.
int hy_nifti_write(const char *path, int ndim, const int64_t *dim, int datatype, const double *raw, double slope,
                double inter, int big_endian);

#endif
