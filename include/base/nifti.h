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

// Grid geometry of a file, kept so that outputs can carry the input's voxel size and affine.
typedef struct {
    float pixdim[8];      // pixdim[0] = qfac, [1..3] voxel size, [4] TR (time series)
    int xyzt_units;       // bits 0-2 spatial unit, 3-5 time unit (8 s, 16 ms, 24 us)
    int qform_code, sform_code;
    float quatern[6];     // quatern_b, _c, _d, qoffset_x, _y, _z
    float srow[12];       // srow_x, srow_y, srow_z (4 each)
} nifti_geom;

typedef struct {
    int ndim;          // dim[0] of the header, 1..7
    int64_t dim[7];    // sizes (x, y, z, t, ...); 1 past ndim (a 2-D image is x, y, 1)
    int64_t nvox;      // product of dim
    int datatype;
    double slope, inter;
    double *data;      // (nvox) scaled values, NIfTI order
    nifti_geom geom;
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

// --- streaming ---------------------------------------------------------------------
// Large 4-D series (fMRI runs) are read one 3-D volume at a time so that only the voxels a
// caller keeps are held in memory. open parses and checks the header exactly as
// hy_nifti_read does (hdr gets everything but data, which stays NULL; dim[] beyond ndim is 1);
// next() fills vol (dim[0]*dim[1]*dim[2] doubles, scaling applied) with the next volume and,
// after the last one, reads to the end so that a corrupt gzip trailer is reported.
typedef struct nifti_stream nifti_stream;
int hy_nifti_stream_open(const char *path, nifti_img *hdr, nifti_stream **s);
int hy_nifti_stream_next(nifti_stream *s, double *vol);
void hy_nifti_stream_close(nifti_stream *s);

// Writes a 3-D (nvol = 1) or 4-D float32 little-endian NIfTI-1 volume by volume, atomically
// (NAME.tmp.PID renamed on commit; gzip at gz_level when the path ends in .gz). geom (may be
// NULL) supplies voxel size, units, qform and sform; tr > 0 marks a time series (pixdim[4] = tr,
// seconds), tr = 0 a stack of maps. commit fails unless exactly nvol volumes were put.
typedef struct nifti_writer nifti_writer;
int hy_nifti_writer_open(nifti_writer **w, const char *path, const int64_t dim3[3], int64_t nvol,
                         const nifti_geom *geom, double tr, const char *descrip, int gz_level);
int hy_nifti_writer_put(nifti_writer *w, const float *vol);  // one volume, dim3 product floats
int hy_nifti_writer_commit(nifti_writer *w);                 // frees w
void hy_nifti_writer_abort(nifti_writer *w);                 // removes the temp file, frees w

#endif
