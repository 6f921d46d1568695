// wfile.h - the project's one weight-file format ("HYW1"), used for every model
// (PGGAN, FaceNet, MTCNN, trained decoders) and for golden reference dumps.
//
// Layout (all integers little-endian, no padding between fields unless stated):
//
//   Fixed header, 64 bytes
//     off  size  field
//       0     8  magic "HYPERWF\0"                (48 59 50 45 52 57 46 00)
//       8     4  u32 version                      (= 1)
//      12     4  u32 header_bytes                 bytes 0..header_bytes hold the fixed header,
//                                                 config, tensor table and the header CRC
//      16    32  kind                             ASCII model kind, NUL padded
//                                                 ("pggan", "facenet", "mtcnn", "decoder", "reference")
//      48     4  u32 n_config                     number of config entries
//      52     4  u32 n_tensors                    number of tensor entries
//      56     8  u64 file_size                    total file length in bytes
//
//   Config entries (n_config of them), each:
//     u16 key_len, key bytes (ASCII, no NUL, 1..255), u8 type, value:
//       type 1 int    : i64
//       type 2 float  : f64
//       type 3 string : u32 len, bytes (no NUL, <= 65535)
//       type 4 ints   : u32 count (<= 65535), count x i64
//       type 5 floats : u32 count (<= 65535), count x f64
//
//   Tensor entries (n_tensors of them), each:
//     u16 name_len, name bytes (ASCII, 1..255; PyTorch state_dict-style key),
//     u8 dtype   (0 f32, 1 f64, 2 i32, 3 i64, 4 u8),
//     u8 ndim    (0..8), ndim x u64 dims (PyTorch order, e.g. conv [out,in,kh,kw]),
//     u64 offset (absolute file offset of the data, a multiple of 64),
//     u64 nbytes (= prod(dims) * itemsize),
//     u32 crc32  (zlib crc32 of the nbytes data bytes)
//
//   u32 header_crc: zlib crc32 of bytes [0, header_bytes - 4).
//
//   Data region: each tensor's bytes, C order, little-endian, starting at its 64-aligned
//   offset (>= header_bytes); gaps are zero (the reader checks this, so a flipped byte
//   anywhere is reported). Tensors may not overlap and must end within
//   file_size, and file_size must equal the real file length.
//
// The reader (wf_open) validates all of the above before returning, including every
// tensor CRC, and names the file (and tensor) in every error. Writers: convert/wfile.py
// (Python) and wf_writer below (C, for decoders trained in C). Both produce identical
// bytes for identical input.
#ifndef HY_WFILE_H
#define HY_WFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WF_MAGIC "HYPERWF"
#define WF_VERSION 1
#define WF_MAX_NDIM 8
#define WF_ALIGN 64

enum { WF_F32 = 0, WF_F64 = 1, WF_I32 = 2, WF_I64 = 3, WF_U8 = 4 };
enum { WF_CFG_INT = 1, WF_CFG_FLOAT = 2, WF_CFG_STR = 3, WF_CFG_INTS = 4, WF_CFG_FLOATS = 5 };

typedef struct {
    char key[256];
    int type;
    int64_t i;      // WF_CFG_INT
    double f;       // WF_CFG_FLOAT
    char *s;        // WF_CFG_STR (NUL-terminated copy)
    int64_t *ints;  // WF_CFG_INTS
    double *floats; // WF_CFG_FLOATS
    uint32_t count; // number of elements for arrays, length for strings
} wf_kv;

typedef struct {
    char name[256];
    int dtype;
    int ndim;
    int64_t dims[WF_MAX_NDIM];
    uint64_t offset, nbytes;
    uint32_t crc;
    const void *data;  // points into wfile.buf
} wf_tensor;

typedef struct {
    char path[1024];
    char kind[33];
    uint32_t version;
    uint32_t n_config, n_tensors;
    wf_kv *config;
    wf_tensor *tensors;
    uint8_t *buf;  // whole file (64-byte aligned)
    size_t size;
    uint8_t *fetched;  // (n_tensors) 1 once hy_wf_get_f32 returned the tensor (hy_wf_check_all_used)
} wfile;

size_t hy_wf_dtype_size(int dtype);      // 0 for unknown
const char *hy_wf_dtype_name(int dtype); // "f32", ...

// Reads and fully validates `path`. On error returns < 0 with a message and leaves *wf empty.
int hy_wf_open(wfile *wf, const char *path);
// Same, from an in-memory copy of a file (`name` is used in messages; buf is copied).
int hy_wf_open_mem(wfile *wf, const char *name, const uint8_t *buf, size_t len);
void hy_wf_close(wfile *wf);

// Errors unless the file's kind equals `kind`.
int hy_wf_expect_kind(const wfile *wf, const char *kind);

// Finds a tensor by name (NULL if absent; no error set).
const wf_tensor *hy_wf_find(const wfile *wf, const char *name);
// Gets an f32 tensor whose shape must equal dims[0..ndim) and whose values are all finite;
// error names file, tensor, expected and found shape (or the NaN/Inf element). ndim < 0 skips
// the shape check. Marks the tensor as used.
int hy_wf_get_f32(const wfile *wf, const char *name, int ndim, const int64_t *dims, const float **out);
// Errors, naming the first, if the file holds a tensor hy_wf_get_f32 never returned: every model
// loader calls it last, so a file with extra tensors (another model, a decoder whose config
// says bias=0 but holds biases) is refused. `what` completes "not part of ..." ("the generator").
int hy_wf_check_all_used(const wfile *wf, const char *what);

// Config getters: error if missing or of another type.
const wf_kv *hy_wf_cfg(const wfile *wf, const char *key);
int hy_wf_cfg_int(const wfile *wf, const char *key, int64_t *out);
int hy_wf_cfg_float(const wfile *wf, const char *key, double *out);
int hy_wf_cfg_str(const wfile *wf, const char *key, const char **out);
int hy_wf_cfg_ints(const wfile *wf, const char *key, const int64_t **out, uint32_t *count);
int hy_wf_cfg_floats(const wfile *wf, const char *key, const double **out, uint32_t *count);

// Prints header, config and tensor table (used by `hyper info`).
void hy_wf_print(const wfile *wf, FILE *out);

// --- writer ---------------------------------------------------------------------
// Collects config and tensors (data pointers are borrowed until wf_writer_save returns),
// then writes the file atomically (tmp + rename). Float tensors must be finite (as the readers
// require); wf_writer_save refuses NaN/Inf naming the tensor and element.
typedef struct wf_writer wf_writer;
wf_writer *hy_wf_writer_new(const char *kind);
int hy_wf_writer_int(wf_writer *w, const char *key, int64_t v);
int hy_wf_writer_float(wf_writer *w, const char *key, double v);
int hy_wf_writer_str(wf_writer *w, const char *key, const char *v);
int hy_wf_writer_ints(wf_writer *w, const char *key, const int64_t *v, uint32_t count);
int hy_wf_writer_floats(wf_writer *w, const char *key, const double *v, uint32_t count);
int hy_wf_writer_tensor(wf_writer *w, const char *name, int dtype, int ndim, const int64_t *dims,
                     const void *data);
int hy_wf_writer_save(wf_writer *w, const char *path);
void hy_wf_writer_free(wf_writer *w);

#endif
