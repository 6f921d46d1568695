// exchange.c - decoders to and from .npz archives (`hyper export`, `hyper import`), so a
// decoder trained here can be read with numpy and one fitted elsewhere (scikit-learn's
// coef_/intercept_, a PyTorch nn.Linear, a Gluon Dense) can be run by `hyper predict`.
// See include/decoders/decoders.h for the array names and shapes.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/npz.h"
#include "decoders/decoders.h"

// The array names of layer l of an L-layer decoder: "weight"/"bias" for one layer (the names
// --init uses too), "weight<l>"/"bias<l>" for more.
static void layer_names(int l, int L, char *w, char *b, size_t cap) {
    if (L == 1) snprintf(w, cap, "weight"), snprintf(b, cap, "bias");
    else snprintf(w, cap, "weight%d", l), snprintf(b, cap, "bias%d", l);
}

int hy_dec_export_npz(const decoder *dec, const char *path, int compress) {
    const dec_kind_info *k = hy_dec_kind(dec->kind);
    if (!k || dec->n_layers < 1 || dec->n_layers > DEC_MAX_LAYERS)
        return hy_err(HY_EARG, "%s: decoder of unknown kind or layer count", path);
    npz_array a[2 * DEC_MAX_LAYERS + 5];
    char names[DEC_MAX_LAYERS][2][32];
    int64_t wd[DEC_MAX_LAYERS][2], bd[DEC_MAX_LAYERS][1], vd[1] = {dec->n_in};
    int n = 0, L = dec->n_layers;
    for (int l = 0; l < L; l++) {
        layer_names(l, L, names[l][0], names[l][1], sizeof names[l][0]);
        wd[l][0] = dec->sizes[l + 1], wd[l][1] = dec->sizes[l], bd[l][0] = dec->sizes[l + 1];
        a[n++] = (npz_array){names[l][0], NPZ_F32, 2, wd[l], dec->W[l], NULL};
        if (dec->b[l]) a[n++] = (npz_array){names[l][1], NPZ_F32, 1, bd[l], dec->b[l], NULL};
    }
    if (dec->x_mean) {
        a[n++] = (npz_array){"zscore_mean", NPZ_F32, 1, vd, dec->x_mean, NULL};
        a[n++] = (npz_array){"zscore_scale", NPZ_F32, 1, vd, dec->x_scale, NULL};
    }
    a[n++] = (npz_array){"model", NPZ_STR, 0, NULL, NULL, k->name};
    double slope = dec->leaky_slope;
    if (L > 1) {
        a[n++] = (npz_array){"activation", NPZ_STR, 0, NULL, NULL, hy_dec_act_name(dec->act)};
        a[n++] = (npz_array){"leaky_slope", NPZ_F64, 0, NULL, &slope, NULL};
    }
    return hy_npz_write(path, a, n, compress);
}

// --- import --------------------------------------------------------------------------------

// Reads float array `name` as a (rows, cols) matrix: 2-D as it is; with allow_vec, a 1-D
// array is one row (scikit-learn's coef_ for one target); with allow_scalar, a 0-d array is
// one element (its intercept_). *rows/*cols out; *out malloc'd.
static int read_matrix(const npz_file *z, const char *name, int allow_vec, int allow_scalar, float **out, int *rows,
                       int *cols) {
    npy_f32 a;
    int r = hy_npz_read_f32(z, name, &a, 0);
    if (r) return r;
    int64_t R, C;
    if (a.ndim == 2) R = a.dims[0], C = a.dims[1];
    else if (a.ndim == 1 && allow_vec) R = 1, C = a.dims[0];
    else if (a.ndim == 0 && allow_scalar) R = 1, C = 1;
    else {
        int nd = a.ndim;
        hy_npy_free_f32(&a);
        return hy_err(HY_ESHAPE, "%s: array '%s' has %d dimensions, expected %s", z->path, name, nd,
                      allow_scalar ? "1 (or 0 for one output)" : allow_vec ? "2 (out, in) (or 1 for one output)" : "2");
    }
    if (R < 1 || C < 1 || R > 10000000 || C > 10000000) {
        hy_npy_free_f32(&a);
        return hy_err(HY_ESHAPE, "%s: array '%s' has an unusable shape (%lld, %lld)", z->path, name, (long long)R,
                      (long long)C);
    }
    *out = a.data;
    *rows = (int)R;
    *cols = (int)C;
    return HY_OK;
}

// Layers: weight/bias, or weight0, bias0, weight1, ... with matching sizes.
static int import_layers(decoder *dec, const npz_file *z) {
    char wn[32], bn[32];
    int L = 0, r;
    if (hy_npz_find(z, "weight")) {
        if (hy_npz_find(z, "weight0"))
            return hy_err(HY_EFORMAT, "%s: has both 'weight' and 'weight0' (one layer or numbered layers, not both)",
                          z->path);
        L = 1;
    } else {
        while (L < DEC_MAX_LAYERS + 1 && (layer_names(L, 2, wn, bn, sizeof wn), hy_npz_find(z, wn))) L++;
        if (L == 0)
            return hy_err(HY_EFORMAT, "%s: no array 'weight' (one layer, shape (outputs, voxels)) or 'weight0', "
                          "'weight1', ... (an MLP)", z->path);
        if (L > DEC_MAX_LAYERS) return hy_err(HY_EFORMAT, "%s: more than %d layers", z->path, DEC_MAX_LAYERS);
    }
    int first_bias = -1;
    for (int l = 0; l < L; l++) {
        layer_names(l, L, wn, bn, sizeof wn);
        int rows, cols, br, bc;
        if ((r = read_matrix(z, wn, L == 1, 0, &dec->W[l], &rows, &cols))) return r;
        if (l == 0) dec->sizes[0] = cols;
        else if (cols != dec->sizes[l])
            return hy_err(HY_ESHAPE, "%s: array '%s' takes %d inputs but the layer before gives %d", z->path, wn, cols,
                          dec->sizes[l]);
        dec->sizes[l + 1] = rows;
        int has = hy_npz_find(z, bn) != NULL;
        if (first_bias < 0) first_bias = has;
        if (has != first_bias)
            return hy_err(HY_EFORMAT, "%s: some layers have a bias and others not (array '%s' is %s)", z->path, bn,
                          has ? "there" : "missing");
        if (!has) continue;
        if ((r = read_matrix(z, bn, 1, L == 1, &dec->b[l], &br, &bc))) return r;
        if (br != 1 || bc != rows)
            return hy_err(HY_ESHAPE, "%s: array '%s' has %d elements, expected %d (the rows of '%s')", z->path, bn,
                          br * bc, rows, wn);
    }
    dec->n_layers = L;
    dec->n_in = dec->sizes[0];
    dec->n_out = dec->sizes[L];
    dec->has_bias = first_bias == 1;
    return HY_OK;
}

// zscore_mean / zscore_scale: both or neither, (V,), scale > 0.
static int import_zscore(decoder *dec, const npz_file *z) {
    int hm = hy_npz_find(z, "zscore_mean") != NULL, hs = hy_npz_find(z, "zscore_scale") != NULL, r, rows, cols;
    if (!hm && !hs) return HY_OK;
    if (hm != hs)
        return hy_err(HY_EFORMAT, "%s: has '%s' but not '%s' (z-scoring needs both)", z->path,
                      hm ? "zscore_mean" : "zscore_scale", hm ? "zscore_scale" : "zscore_mean");
    const char *nm[2] = {"zscore_mean", "zscore_scale"};
    float **dst[2] = {&dec->x_mean, &dec->x_scale};
    for (int i = 0; i < 2; i++) {
        if ((r = read_matrix(z, nm[i], 1, 0, dst[i], &rows, &cols))) return r;
        if (rows != 1 || cols != dec->n_in)
            return hy_err(HY_ESHAPE, "%s: array '%s' has %d elements, expected %d (one per voxel)", z->path, nm[i],
                          rows * cols, dec->n_in);
    }
    for (int j = 0; j < dec->n_in; j++)
        if (!(dec->x_scale[j] > 0))
            return hy_err(HY_EVALUE, "%s: zscore_scale element %d is %g (must be > 0)", z->path, j, dec->x_scale[j]);
    return HY_OK;
}

// Puts "path: " before the current message (copied first: hy_err formats into the same buffer).
static int prefix_path(int code, const char *path) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", hy_errmsg());
    return hy_err(code, "%s: %s", path, msg);
}

// The kind and activation: the options, else the archive's text arrays, else the defaults
// (mlp for numbered layers, else linear or linear-nobias by the bias; an MLP must say its
// activation).
static int import_kind(decoder *dec, const npz_file *z, const char *model, const char *act) {
    char buf[64];
    int r;
    if (!model && hy_npz_find(z, "model")) {
        if ((r = hy_npz_read_str(z, "model", buf, sizeof buf))) return r;
        model = buf;
    }
    if (model) {
        if ((r = hy_dec_kind_parse(model, &dec->kind))) return prefix_path(r, z->path);
    } else {
        dec->kind = dec->n_layers > 1 ? DEC_MLP : dec->has_bias ? DEC_LINEAR : DEC_LINEAR_NOBIAS;
    }
    if ((dec->kind == DEC_MLP) != (dec->n_layers > 1))
        return hy_err(HY_EFORMAT, "%s: model %s with %d layer(s) (an mlp has numbered layers weight0, weight1, ...; "
                      "the other models one 'weight')", z->path, hy_dec_kind(dec->kind)->name, dec->n_layers);
    dec->leaky_slope = 0.01;
    if (hy_npz_find(z, "leaky_slope")) {
        npy_f64 s;
        if ((r = hy_npz_read_f64(z, "leaky_slope", &s, 0))) return r;
        int ok = s.size == 1 && s.data[0] >= 0 && s.data[0] < 1;
        dec->leaky_slope = s.size == 1 ? s.data[0] : 0;
        hy_npy_free_f64(&s);
        if (!ok) return hy_err(HY_EVALUE, "%s: leaky_slope must be one number in [0, 1)", z->path);
    }
    dec->act = DEC_ACT_NONE;
    if (dec->n_layers == 1) return HY_OK;
    char abuf[64];
    if (!act && hy_npz_find(z, "activation")) {
        if ((r = hy_npz_read_str(z, "activation", abuf, sizeof abuf))) return r;
        act = abuf;
    }
    if (!act)
        return hy_err(HY_EFORMAT, "%s: an MLP needs its activation (array 'activation' or the --activation option; %s)",
                      z->path, hy_dec_act_names());
    if ((r = hy_dec_act_parse(act, &dec->act))) return prefix_path(r, z->path);
    return HY_OK;
}

// Refuses arrays the import does not use, so that a misnamed array ('coef', 'W') is not
// silently dropped.
static int check_known(const npz_file *z, int L) {
    for (int i = 0; i < z->n; i++) {
        char nm[256];
        snprintf(nm, sizeof nm, "%s", z->members[i].name);
        size_t l = strlen(nm);
        if (l > 4 && !strcmp(nm + l - 4, ".npy")) nm[l - 4] = 0;
        int known = !strcmp(nm, "zscore_mean") || !strcmp(nm, "zscore_scale") || !strcmp(nm, "model") ||
                    !strcmp(nm, "activation") || !strcmp(nm, "leaky_slope");
        for (int k = 0; k < L && !known; k++) {
            char wn[32], bn[32];
            layer_names(k, L, wn, bn, sizeof wn);
            known = !strcmp(nm, wn) || !strcmp(nm, bn);
        }
        if (!known)
            return hy_err(HY_EFORMAT, "%s: unexpected array '%s' (a decoder has %s, and optionally zscore_mean, "
                          "zscore_scale, model, activation, leaky_slope)", z->path, nm,
                          L == 1 ? "weight and bias" : "weight0, bias0, weight1, ...");
    }
    return HY_OK;
}

int hy_dec_import_npz(decoder *dec, const char *path, const char *model, const char *act) {
    memset(dec, 0, sizeof *dec);
    npz_file z;
    int r = hy_npz_open(&z, path);
    if (r) return r;
    if (!(r = import_layers(dec, &z)) && !(r = check_known(&z, dec->n_layers)) && !(r = import_zscore(dec, &z)))
        r = import_kind(dec, &z, model, act);
    hy_npz_close(&z);
    if (r) hy_dec_free(dec);
    return r;
}
