// hyper.h - the public interface of libhyper in one include (C11).
//
//     #include <hyper.h>
//     cc my.c $(pkg-config --cflags --libs hyper)          # shared library (libhyper.so)
//     cc my.c $(pkg-config --cflags --libs hyper-static)   # static library (libhyper.a)
//
// Conventions (README "Architecture"): every function returns HY_OK (0) or a negative HY_E*
// code and leaves a one-line message in hy_errmsg(); nothing exits or prints (notes go through
// hy_note's sink); exported symbols start with hy_. Examples: examples/*.c.
#ifndef HY_HYPER_H
#define HY_HYPER_H

#include "base/common.h"
#include "base/draw.h"
#include "base/image_io.h"
#include "base/nifti.h"
#include "base/npy.h"
#include "base/npz.h"
#include "base/lineplot.h"
#include "base/resize.h"
#include "base/rng.h"
#include "base/wfile.h"
#include "decoders/decoders.h"
#include "glm/bids.h"
#include "glm/design.h"
#include "glm/events.h"
#include "glm/fit.h"
#include "glm/glm.h"
#include "glm/hrf.h"
#include "glm/stats.h"
#include "models/embedder.h"
#include "models/faceapi.h"
#include "models/facecrop.h"
#include "models/facenet.h"
#include "models/mtcnn.h"
#include "models/pggan.h"
#include "nn/ops.h"
#include "nn/ops_extra.h"
#include "study/curve.h"
#include "study/dataset.h"
#include "study/metrics.h"
#include "study/glm_dataset.h"
#include "study/simulate.h"
#include "study/simulate_bold.h"
#include "study/stats.h"

#endif
