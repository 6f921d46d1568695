// init.c - initial weights for the Adam-trained decoders from an .npz file (`--init`), so a
// run can start where a reference implementation starts (see include/decoders/decoders.h for
// the array names and shapes).
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/npz.h"
#include "decoders/decoders.h"

void hy_dec_init_free(dec_init *init) {
    for (int l = 0; l < DEC_MAX_LAYERS; l++) {
        free(init->W[l]);
        free(init->b[l]);
    }
    memset(init, 0, sizeof *init);
}

void hy_dec_init_apply(const dec_init *init, dec_opts *o) {
    for (int l = 0; l < init->n_layers; l++) {
        o->init_W[l] = init->W[l];
        o->init_b[l] = init->b[l];
    }
}

// Reads array `name` of shape (rows, cols) (cols 0: 1-D of rows) into *out.
static int read_shaped(const npz_file *z, const char *name, int64_t rows, int64_t cols, float **out) {
    npy_f32 a;
    int r = hy_npz_read_f32(z, name, &a, 0);
    if (r) return r;
    int want_nd = cols ? 2 : 1;
    if (a.ndim != want_nd || a.dims[0] != rows || (cols && a.dims[1] != cols)) {
        char got[96] = "(";
        for (int i = 0; i < a.ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)a.dims[i]);
        strcat(got, a.ndim == 1 ? ",)" : ")");
        hy_npy_free_f32(&a);
        if (cols)
            return hy_err(HY_ESHAPE, "%s: array '%s' is %s, expected (%lld, %lld)", z->path, name, got, (long long)rows,
                          (long long)cols);
        return hy_err(HY_ESHAPE, "%s: array '%s' is %s, expected (%lld,)", z->path, name, got, (long long)rows);
    }
    *out = a.data;
    return HY_OK;
}

// The expected array names of layer l: "weight"/"bias" for one layer, "weight<l>"/"bias<l>" else.
static void names(int l, int n_layers, char *w, char *b, size_t len) {
    if (n_layers == 1) snprintf(w, len, "weight"), snprintf(b, len, "bias");
    else snprintf(w, len, "weight%d", l), snprintf(b, len, "bias%d", l);
}

int hy_dec_init_read(dec_init *init, const char *path, const dec_opts *o, int v, int d) {
    memset(init, 0, sizeof *init);
    const dec_kind_info *k = hy_dec_kind(o->kind);
    if (!k || !k->iterative)
        return hy_err(HY_EARG, "%s: initial weights are for the Adam-trained models, not %s", path, k ? k->name : "?");
    int L = o->kind == DEC_MLP ? o->n_hidden + 1 : 1, sizes[DEC_MAX_LAYERS + 1];
    if (L > DEC_MAX_LAYERS) return hy_err(HY_EARG, "at most %d hidden layers", DEC_MAX_LAYERS - 1);
    sizes[0] = v;
    for (int l = 1; l < L; l++) sizes[l] = o->hidden[l - 1];
    sizes[L] = d;
    npz_file z;
    int r = hy_npz_open(&z, path);
    if (r) return r;
    char wn[32], bn[32];
    init->n_layers = L;
    for (int l = 0; l < L && !r; l++) {
        names(l, L, wn, bn, sizeof wn);
        r = read_shaped(&z, wn, sizes[l + 1], sizes[l], &init->W[l]);
        if (!r && k->bias) r = read_shaped(&z, bn, sizes[l + 1], 0, &init->b[l]);
    }
    for (int i = 0; i < z.n && !r; i++) {  // nothing else: a stray array means a mix-up
        int known = 0;
        for (int l = 0; l < L; l++) {
            names(l, L, wn, bn, sizeof wn);
            known |= hy_npz_find(&z, wn) == &z.members[i] || (k->bias && hy_npz_find(&z, bn) == &z.members[i]);
        }
        if (!known) {
            names(0, L, wn, bn, sizeof wn);
            const char *m = z.members[i].name;
            size_t ml = strlen(m);
            if (ml > 4 && !strcmp(m + ml - 4, ".npy")) ml -= 4;
            r = hy_err(HY_EFORMAT, "%s: unexpected array '%.*s' for %s with %d layer(s) (expected %s%s%s%s)", path,
                       (int)ml, m, k->name, L, wn, k->bias ? ", " : "", k->bias ? bn : "", L > 1 ? ", ..." : "");
        }
    }
    hy_npz_close(&z);
    if (r) hy_dec_init_free(init);
    return r;
}
