// study.c - image-level evaluation of predicted latents (see include/study/study.h).
#include "study/study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/figure.h"  // hy_figure_scale, colours
#include "base/draw.h"
#include "base/image_io.h"
#include "study/metrics.h"
#include "base/npy.h"
#include "base/rng.h"

void hy_study_defaults(study_ctx *c) {
    memset(c, 0, sizeof *c);
    hy_face_crop_parse(&c->crop, NULL, NULL);
    c->n_null = 100;
    c->n_null_latent = 1000;
    c->seed = 1;
    c->batch = 16;
}

void hy_face_set_free(face_set *s) {
    free(s->rgb);
    for (int m = 0; m < STUDY_MAX_MODELS; m++) free(s->emb[m]);
    free(s->age);
    free(s->p_male);
    free(s->how);
    free(s->prob);
    memset(s, 0, sizeof *s);
}

static int face_set_alloc(face_set *s, int n, int R, const study_ctx *c) {
    memset(s, 0, sizeof *s);
    s->n = n;
    s->R = R;
    s->rgb = hy_malloc((size_t)n * R * R * 3);
    s->how = hy_calloc((size_t)n + 1, 1);
    s->prob = hy_malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    int ok = s->rgb && s->how && s->prob;
    for (int m = 0; m < c->n_models; m++)
        ok &= (s->emb[m] = hy_malloc((size_t)n * c->model[m].e->dim * sizeof(float))) != NULL;
    if (c->attr) {
        s->age = hy_malloc((size_t)n * sizeof(float));
        s->p_male = hy_malloc((size_t)n * sizeof(float));
        ok &= s->age && s->p_male;
    }
    if (!ok) {
        hy_face_set_free(s);
        return HY_ENOMEM;
    }
    for (int i = 0; i < n; i++) s->prob[i] = NAN;
    return HY_OK;
}

// Crops and embeds images [from, to) of s (already rendered) in batches: MTCNN (or the fixed crop)
// runs once per image; each identity model, and the age/gender model, cuts its own box from it
// (facecrop.h) and prepares its own input.
static int embed_set(study_ctx *c, face_set *s, int from, int to, const char *label) {
    const int R = s->R, B = c->batch > 0 ? c->batch : 16, M = c->n_models;
    const int A = c->attr ? c->attr->input_size : 0;
    float *in[STUDY_MAX_MODELS] = {0}, *out[STUDY_MAX_MODELS] = {0}, *ain = NULL, *age = NULL, *pm = NULL;
    int *slot = hy_malloc(sizeof(int) * (size_t)B), r = slot ? HY_OK : HY_ENOMEM;
    for (int m = 0; m < M && !r; m++) {
        in[m] = hy_malloc(hy_embedder_input_floats(c->model[m].e) * (size_t)B * sizeof(float));
        out[m] = hy_malloc((size_t)B * c->model[m].e->dim * sizeof(float));
        if (!in[m] || !out[m]) r = HY_ENOMEM;
    }
    if (!r && A) {
        ain = hy_malloc(sizeof(float) * 3 * (size_t)A * A * B);
        age = hy_malloc(sizeof(float) * B), pm = hy_malloc(sizeof(float) * B);
        if (!ain || !age || !pm) r = HY_ENOMEM;
    }
    for (int i0 = from; i0 < to && !r; i0 += B) {
        int nb = 0;
        for (int i = i0; i < to && i < i0 + B && !r; i++) {
            char name[96];
            snprintf(name, sizeof name, "%s %d", label, i);
            const uint8_t *rgb = s->rgb + (size_t)i * R * R * 3;
            face_found f;
            crop_box box;
            if ((r = hy_face_crop_find(&c->crop, name, rgb, R, R, &f))) break;
            s->how[i] = f.how;
            s->prob[i] = f.prob;
            if (f.how == 's') {
                for (int m = 0; m < M; m++)
                    for (int k = 0; k < c->model[m].e->dim; k++) s->emb[m][(size_t)i * c->model[m].e->dim + k] = NAN;
                if (A) s->age[i] = s->p_male[i] = NAN;
                continue;
            }
            for (int m = 0; m < M && !r; m++) {
                const embedder *e = c->model[m].e;
                if (!(r = hy_face_crop_box(&c->crop, &f, e->rule, name, R, R, &box)))
                    r = hy_embedder_prepare(e, in[m] + (size_t)nb * hy_embedder_input_floats(e), NULL, rgb, R, R, &box);
            }
            if (!r && A && !(r = hy_face_crop_box(&c->crop, &f, CROP_RULE_DETECTOR, name, R, R, &box)))
                r = hy_faceapi_prepare(ain + (size_t)nb * 3 * A * A, A, rgb, R, R, &box);
            slot[nb++] = i;
        }
        if (r || nb == 0) continue;
        for (int m = 0; m < M && !r; m++) {
            const int D = c->model[m].e->dim;
            if ((r = hy_embedder_forward(c->model[m].e, in[m], nb, out[m], NULL, NULL))) break;
            for (int k = 0; k < nb; k++) memcpy(s->emb[m] + (size_t)slot[k] * D, out[m] + (size_t)k * D, sizeof(float) * D);
        }
        if (!r && A && !(r = hy_faceapi_agegender_forward(c->attr, ain, nb, age, pm, NULL, NULL)))
            for (int k = 0; k < nb; k++) s->age[slot[k]] = age[k], s->p_male[slot[k]] = pm[k];
    }
    for (int m = 0; m < M; m++) free(in[m]), free(out[m]);
    free(ain), free(age), free(pm), free(slot);
    return r;
}

// Faces are rendered and embedded a face-model batch at a time, so that each face is finished in
// turn and the progress (every face costs the same) counts finished faces.
int hy_study_faces(study_ctx *c, const float *z, int n, const char *label, face_set *out) {
    int R = c->gen->resolution, L = c->gen->latent, B = c->batch > 0 ? c->batch : 16;
    if (c->n_models < 1) return hy_err(HY_EARG, "study: no identity model to embed the faces with");
    int r = face_set_alloc(out, n, R, c);
    if (r) return r;
    float *img = hy_malloc(sizeof(float) * 3 * (size_t)R * R);
    if (!img) {
        hy_face_set_free(out);
        return HY_ENOMEM;
    }
    for (int i0 = 0; i0 < n && !r; i0 += B) {
        int i1 = i0 + B < n ? i0 + B : n;
        for (int i = i0; i < i1 && !r; i++)
            if (!(r = hy_pggan_forward(c->gen, z + (size_t)i * L, img, NULL, NULL)))
                hy_img_f32_to_rgb8(out->rgb + (size_t)i * R * R * 3, img, R, R);
        if (!r) r = embed_set(c, out, i0, i1, label);
        if (!r && c->progress_total > 0) {
            c->progress_done += i1 - i0;
            hy_progress(c->progress_label, c->progress_done, c->progress_total, c->progress_t0);
        }
    }
    free(img);
    if (r) hy_face_set_free(out);
    return r;
}

// --- ground-truth cache ---------------------------------------------------------------

static void cache_key(study_ctx *c, const float *T, int n, char *key, int len) {
    char crop[128];
    hy_face_crop_describe(&c->crop, crop, sizeof crop);
    uint32_t lat = hy_crc32(0, T, sizeof(float) * (size_t)n * c->gen->latent);
    uint32_t g = c->gen->file_crc;
    int k = snprintf(key, (size_t)len, "n=%d latents_crc=%08x generator_crc=%08x", n, lat, g);
    for (int m = 0; m < c->n_models && k < len; m++) {
        const wfile *wf = c->model[m].e->wf;
        k += snprintf(key + k, (size_t)(len - k), " %s_crc=%08x", c->model[m].name, hy_crc32(0, wf->buf, wf->size));
    }
    if (c->attr && k < len)
        k += snprintf(key + k, (size_t)(len - k), " attributes_crc=%08x", hy_crc32(0, c->attr->wf.buf, c->attr->wf.size));
    if (k < len) snprintf(key + k, (size_t)(len - k), " crop=%s\n", crop);
}

// Reads an (n, d) float32 .npy into dst.
static int read_rows(const char *path, int n, int d, float *dst) {
    npy_f32 e;
    int r = hy_npy_read_f32(path, &e, 1);
    if (r) return r;
    if (e.ndim != 2 || e.dims[0] != n || e.dims[1] != d) r = hy_err(HY_ESHAPE, "%s: cached array is not (%d, %d)", path, n, d);
    else memcpy(dst, e.data, sizeof(float) * (size_t)n * d);
    hy_npy_free_f32(&e);
    return r;
}

static int load_cached(study_ctx *c, int n, const char *dir, face_set *out) {
    int R = c->gen->resolution, r;
    char p[4200];
    if ((r = face_set_alloc(out, n, R, c))) return r;
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/faces/%06d.png", dir, i);
        int w, h;
        uint8_t *rgb;
        if ((r = hy_image_read_rgb8(p, &w, &h, &rgb))) goto fail;
        if (w != R || h != R) {
            free(rgb);
            r = hy_err(HY_ESHAPE, "%s: cached face is %dx%d, expected %dx%d", p, w, h, R, R);
            goto fail;
        }
        memcpy(out->rgb + (size_t)i * R * R * 3, rgb, (size_t)R * R * 3);
        free(rgb);
    }
    for (int m = 0; m < c->n_models; m++) {
        snprintf(p, sizeof p, "%s/embeddings_%s.npy", dir, c->model[m].name);
        if ((r = read_rows(p, n, c->model[m].e->dim, out->emb[m]))) goto fail;
    }
    if (c->attr) {
        float *a = hy_malloc(sizeof(float) * 2 * (size_t)n);
        snprintf(p, sizeof p, "%s/attributes.npy", dir);
        if (!a || (r = read_rows(p, n, 2, a))) {
            free(a);
            r = r ? r : HY_ENOMEM;
            goto fail;
        }
        for (int i = 0; i < n; i++) out->age[i] = a[2 * i], out->p_male[i] = a[2 * i + 1];
        free(a);
    }
    snprintf(p, sizeof p, "%s/crops.txt", dir);
    FILE *f = hy_fopen_read(p);
    if (!f || !fgets(out->how, n + 1, f) || (int)strlen(out->how) != n) {
        if (f) fclose(f);
        r = hy_err(HY_EFORMAT, "%s: missing or damaged", p);
        goto fail;
    }
    fclose(f);
    return HY_OK;
fail:
    hy_face_set_free(out);
    return r;
}

int hy_study_gt_faces(study_ctx *c, const float *T, int n, const char *cache_dir, face_set *out) {
    char key[1024], p[4200], old[1024] = {0};
    cache_key(c, T, n, key, sizeof key);
    snprintf(p, sizeof p, "%s/key.txt", cache_dir);
    FILE *f = hy_fopen_read(p);
    if (f) {
        size_t k = fread(old, 1, sizeof old - 1, f);
        old[k] = 0;
        fclose(f);
        if (!strcmp(old, key) && load_cached(c, n, cache_dir, out) == HY_OK) {
            if (c->progress_total > 0) c->progress_total -= n;  // these faces need no work
            return HY_OK;
        }
        remove(p);  // stale or damaged: recompute
    }
    int r;
    if ((r = hy_study_faces(c, T, n, "ground truth", out))) return r;
    snprintf(p, sizeof p, "%s/faces", cache_dir);
    if ((r = hy_mkdir_p(p))) goto fail;
    int R = out->R;
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/faces/%06d.png", cache_dir, i);
        if ((r = hy_png_write_rgb8(p, R, R, out->rgb + (size_t)i * R * R * 3))) goto fail;
    }
    for (int m = 0; m < c->n_models; m++) {
        snprintf(p, sizeof p, "%s/embeddings_%s.npy", cache_dir, c->model[m].name);
        if ((r = hy_npy_write_f32(p, 2, (int64_t[]){n, c->model[m].e->dim}, out->emb[m]))) goto fail;
    }
    if (c->attr) {
        float *a = hy_malloc(sizeof(float) * 2 * (size_t)n);
        if (!a) {
            r = HY_ENOMEM;
            goto fail;
        }
        for (int i = 0; i < n; i++) a[2 * i] = out->age[i], a[2 * i + 1] = out->p_male[i];
        snprintf(p, sizeof p, "%s/attributes.npy", cache_dir);
        r = hy_npy_write_f32(p, 2, (int64_t[]){n, 2}, a);
        free(a);
        if (r) goto fail;
    }
    hy_outfile o;
    snprintf(p, sizeof p, "%s/crops.txt", cache_dir);
    if ((r = hy_out_open(&o, p))) goto fail;
    fprintf(o.fp, "%s\n", out->how);
    if ((r = hy_out_commit(&o))) goto fail;
    snprintf(p, sizeof p, "%s/key.txt", cache_dir);  // last: marks the cache complete
    if ((r = hy_out_open(&o, p))) goto fail;
    fputs(key, o.fp);
    if ((r = hy_out_commit(&o))) goto fail;
    return HY_OK;
fail:
    hy_face_set_free(out);
    return r;
}

// --- metrics ----------------------------------------------------------------------------

static double luminance_r(const uint8_t *a, const uint8_t *b, int npix) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (int i = 0; i < npix; i++) {
        double x = 0.299 * a[3 * i] + 0.587 * a[3 * i + 1] + 0.114 * a[3 * i + 2];
        double y = 0.299 * b[3 * i] + 0.587 * b[3 * i + 1] + 0.114 * b[3 * i + 2];
        sa += x, sb += y, saa += x * x, sbb += y * y, sab += x * y;
    }
    double cov = sab - sa * sb / npix, va = saa - sa * sa / npix, vb = sbb - sb * sb / npix;
    return va > 0 && vb > 0 ? cov / sqrt(va * vb) : 0.0;
}

// Layout (units, x the figure scale): a title line, a legend line, then rows of item columns,
// each a ground-truth face above its reconstruction and a label below them.
int hy_study_comparison_png(const char *path, const face_set *gt, const face_set *rec, const double *dist,
                         const char *dist_name, int max_items, const char *title) {
    int n = gt->n < max_items ? gt->n : max_items, cols = n < 9 ? n : 9, rows = (n + cols - 1) / cols;
    int S = hy_figure_scale(), T = COMPARISON_THUMB * S, pad = COMPARISON_PAD * S, lab = COMPARISON_LABEL * S,
        left = 70 * S, head = COMPARISON_HEAD * S;
    int W = left + cols * (T + pad) + pad, H = head + rows * (2 * T + lab + 3 * pad) + pad;
    char legend[256], mean[96] = "";
    if (dist) {
        double sum = 0;
        int k = 0;
        for (int i = 0; i < gt->n; i++)
            if (isfinite(dist[i])) sum += dist[i], k++;
        if (k) snprintf(mean, sizeof mean, "; mean d %.3f over %d items", sum / k, k);
    }
    char dname[128] = "";
    if (dist) snprintf(dname, sizeof dname, "   d: %.40s distance of the pair (lower = closer)", dist_name ? dist_name : "FaceNet");
    snprintf(legend, sizeof legend, "top: ground truth   bottom: reconstruction%s%s%s", dname, mean,
             n < gt->n ? "; first items only" : "");
    int need = 8 * S + hy_text_width(legend, S) + 8 * S, need_t = 8 * S + hy_text_width(title, S) + 8 * S;
    if (W < need) W = need;
    if (W < need_t) W = need_t;
    canvas c;
    rgb_color white = {255, 255, 255}, grey = {90, 90, 90};
    int r = hy_canvas_new(&c, W, H, white);
    if (r) return r;
    for (int b = 0; b < (S >= 2 ? 2 : 1); b++)  // bold from scale 2: twice, one pixel apart
        hy_draw_text(&c, 8 * S + b, 8 * S, title, S, FIG_BLACK);
    hy_draw_text(&c, 8 * S, 26 * S, legend, S, grey);
    for (int i = 0; i < n; i++) {
        int row = i / cols, col = i % cols;
        int x = left + pad + col * (T + pad), y = head + pad + row * (2 * T + lab + 3 * pad);
        hy_draw_image(&c, x, y, T, T, gt->rgb + (size_t)i * gt->R * gt->R * 3, gt->R, gt->R);
        hy_draw_image(&c, x, y + T + pad, T, T, rec->rgb + (size_t)i * rec->R * rec->R * 3, rec->R, rec->R);
        char s[48];
        if (!dist) snprintf(s, sizeof s, "#%d", i);
        else if (isfinite(dist[i])) snprintf(s, sizeof s, "#%d d=%.3f", i, dist[i]);
        else snprintf(s, sizeof s, "#%d no face", i);
        hy_draw_text(&c, x, y + 2 * T + pad + 2 * S, s, S, grey);
        if (col == 0) {
            hy_draw_text(&c, 6 * S, y + T / 2 - 5 * S, "truth", S, FIG_BLACK);
            hy_draw_text(&c, 6 * S, y + T + pad + T / 2 - 5 * S, "recon", S, FIG_BLACK);
        }
    }
    r = hy_png_write_rgb8_dpi(path, c.w, c.h, c.px, 96 * S);
    hy_canvas_free(&c);
    return r;
}

static int write_text(const char *path, const char *text) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    fputs(text, o.fp);
    return hy_out_commit(&o);
}

// Per-item numbers of one identity model m: distance, shuffled baseline, identification, and
// with a threshold the same-person verdict and the rate of non-matching pairs under it.
typedef struct {
    double *dist, *base, *ident, *same, *shuf_same;
} model_items;

static int model_items_alloc(model_items *x, int n) {
    x->dist = hy_calloc((size_t)n, sizeof(double));
    x->base = hy_calloc((size_t)n, sizeof(double));
    x->ident = hy_calloc((size_t)n, sizeof(double));
    x->same = hy_calloc((size_t)n, sizeof(double));
    x->shuf_same = hy_calloc((size_t)n, sizeof(double));
    return x->dist && x->base && x->ident && x->same && x->shuf_same ? HY_OK : HY_ENOMEM;
}

static void model_items_free(model_items *x) {
    free(x->dist), free(x->base), free(x->ident), free(x->same), free(x->shuf_same);
    memset(x, 0, sizeof *x);
}

// Fills x for model m; returns the number of items with a face in both images.
static int model_item_metrics(const face_set *gt, const face_set *rec, int m, int D, double thr, int n, model_items *x) {
    int valid = 0;
    for (int i = 0; i < n; i++) {
        const float *ri = rec->emb[m] + (size_t)i * D, *gi = gt->emb[m] + (size_t)i * D;
        if (gt->how[i] == 's' || rec->how[i] == 's') {
            x->dist[i] = x->base[i] = x->ident[i] = x->same[i] = x->shuf_same[i] = NAN;
            continue;
        }
        x->dist[i] = hy_embedder_distance(ri, gi, D);
        double sb = 0, si = 0, ss = 0;
        int k = 0;
        for (int j = 0; j < n; j++) {
            if (j == i || gt->how[j] == 's') continue;
            double dj = hy_embedder_distance(ri, gt->emb[m] + (size_t)j * D, D);
            sb += dj;
            si += x->dist[i] < dj ? 1.0 : x->dist[i] == dj ? 0.5 : 0.0;
            ss += dj < thr;
            k++;
        }
        x->base[i] = k ? sb / k : NAN;
        x->ident[i] = k ? si / k : NAN;
        x->same[i] = isfinite(thr) ? (double)(x->dist[i] < thr) : NAN;
        x->shuf_same[i] = isfinite(thr) && k ? ss / k : NAN;
        valid++;
    }
    return valid;
}

// mean and s.e. over the finite values of a[0..n); *k gets their count
static void mean_se_finite(const double *a, int n, double *m, double *se, int *k) {
    double *t = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    int c = 0;
    for (int i = 0; t && i < n; i++)
        if (isfinite(a[i])) t[c++] = a[i];
    if (c) hy_met_mean_se(t, c, m, se);
    else *m = *se = NAN;
    if (k) *k = c;
    free(t);
}

// Random-latent null per model: K latents rendered and embedded like reconstructions;
// null_k = mean_i d(e(r_k), e(gt_i)); p = (1 + #{null_k <= dmean[m]}) / (1 + K).
static int image_null(study_ctx *c, const face_set *gt, int n, const double *dmean, double *p, double *mean,
                      double *sd) {
    const int L = c->gen->latent;
    for (int m = 0; m < c->n_models; m++) p[m] = mean[m] = sd[m] = NAN;
    if (c->n_null <= 0) return HY_OK;
    float *z = hy_malloc(sizeof(float) * (size_t)c->n_null * L);
    if (!z) return HY_ENOMEM;
    mt19937 rng;
    hy_mt_seed(&rng, c->seed);
    hy_mt_randn_f32(&rng, z, (long)c->n_null * L);
    face_set nf;
    int r = hy_study_faces(c, z, c->n_null, "null latent", &nf);
    free(z);
    if (r) return r;
    for (int m = 0; m < c->n_models; m++) {
        const int D = c->model[m].e->dim;
        int below = 0, used = 0;
        double s1 = 0, s2 = 0;
        for (int k = 0; k < c->n_null; k++) {
            if (nf.how[k] == 's') continue;
            double s = 0;
            int q = 0;
            for (int i = 0; i < n; i++)
                if (gt->how[i] != 's') s += hy_embedder_distance(nf.emb[m] + (size_t)k * D, gt->emb[m] + (size_t)i * D, D), q++;
            double v = s / q;
            below += v <= dmean[m];
            s1 += v, s2 += v * v;
            used++;
        }
        if (used) {
            p[m] = (1.0 + below) / (1.0 + used);
            mean[m] = s1 / used;
            sd[m] = used > 1 ? sqrt(fmax(0, (s2 - s1 * s1 / used) / (used - 1))) : 0;
        }
    }
    hy_face_set_free(&nf);
    return HY_OK;
}

// Image-space attribute agreement over the items with a face in both images: gender match rate,
// age Pearson r, mean |age difference|.
static void attribute_agreement(const face_set *gt, const face_set *rec, int n, double *gmatch, double *age_r,
                                double *age_mae, int *k_out) {
    double *a = malloc(sizeof(double) * (size_t)n), *b = malloc(sizeof(double) * (size_t)n);
    int k = 0, match = 0;
    double mae = 0;
    for (int i = 0; a && b && i < n; i++) {
        if (!isfinite(gt->age[i]) || !isfinite(rec->age[i])) continue;
        a[k] = gt->age[i], b[k] = rec->age[i];
        match += (gt->p_male[i] > 0.5f) == (rec->p_male[i] > 0.5f);
        mae += fabs(a[k] - b[k]);
        k++;
    }
    *gmatch = k ? (double)match / k : NAN;
    *age_r = k > 2 ? hy_met_pearson(a, 1, b, 1, k) : NAN;
    *age_mae = k ? mae / k : NAN;
    *k_out = k;
    free(a), free(b);
}

// Everything one evaluation measures (per identity model m where indexed by STUDY_MAX_MODELS).
typedef struct {
    int valid;                          // items with a face in both images
    model_items mi[STUDY_MAX_MODELS];   // per-item distances, baselines, identification, same-person
    double *pix;                        // (n) luminance correlation of truth and reconstruction
    met_report lat;                     // latent-level metrics (metrics.h)
    double dm[STUDY_MAX_MODELS], dse[STUDY_MAX_MODELS];  // distance mean and s.e.
    double bm[STUDY_MAX_MODELS], bse[STUDY_MAX_MODELS];  // shuffled-pair baseline
    double im[STUDY_MAX_MODELS], ise[STUDY_MAX_MODELS];  // identification
    double sm[STUDY_MAX_MODELS], sse[STUDY_MAX_MODELS];  // same-person rate
    double hm[STUDY_MAX_MODELS], hse[STUDY_MAX_MODELS];  // same-person rate of shuffled pairs
    double null_p[STUDY_MAX_MODELS], null_mean[STUDY_MAX_MODELS], null_sd[STUDY_MAX_MODELS];
    double pm, pse;                     // pixel r
    double gmatch, age_r, age_mae;      // attribute agreement (NaN without an age/gender model)
    int n_attr;
    double cm, cse, lim, lise;          // latent cosine and 2-way identification
    double face_share, face_prob;       // MTCNN on the reconstructions (NaN without MTCNN)
} eval_stats;

static void eval_stats_free(eval_stats *s) {
    for (int m = 0; m < STUDY_MAX_MODELS; m++) model_items_free(&s->mi[m]);
    hy_met_report_free(&s->lat);
    free(s->pix);
}

// Latent-level metrics of P against T (both (n, L) float32) into s->lat, cosine and identification.
static int measure_latents(study_ctx *c, const float *T, const float *P, int n, const double *bdirs,
                           char (*bnames)[128], int n_bound, eval_stats *s) {
    const int L = c->gen->latent;
    double *Pd = hy_malloc(sizeof(double) * (size_t)n * L), *Td = hy_malloc(sizeof(double) * (size_t)n * L);
    int r = Pd && Td ? HY_OK : HY_ENOMEM;
    for (size_t k = 0; !r && k < (size_t)n * L; k++) Pd[k] = P[k], Td[k] = T[k];
    if (!r) r = hy_met_report_compute(&s->lat, Pd, Td, n, L, c->n_null_latent, c->seed, bdirs, bnames, n_bound);
    free(Pd), free(Td);
    if (r) return r;
    hy_met_mean_se(s->lat.cosine, n, &s->cm, &s->cse);
    hy_met_mean_se(s->lat.ident, n, &s->lim, &s->lise);
    return HY_OK;
}

// Every number of the evaluation of rec (the reconstructions of P) against gt and T.
static int measure(study_ctx *c, const float *T, const float *P, int n, const face_set *gt, const face_set *rec,
                   const char *outdir, const double *bdirs, char (*bnames)[128], int n_bound, eval_stats *s) {
    const int R = c->gen->resolution, M = c->n_models;
    s->pix = hy_calloc((size_t)n, sizeof *s->pix);
    int r = s->pix ? HY_OK : HY_ENOMEM;
    for (int m = 0; m < M && !r; m++) r = model_items_alloc(&s->mi[m], n);
    if (r) return r;
    for (int m = 0; m < M; m++)
        s->valid = model_item_metrics(gt, rec, m, c->model[m].e->dim, c->model[m].e->threshold, n, &s->mi[m]);
    for (int i = 0; i < n; i++)
        s->pix[i] = luminance_r(gt->rgb + (size_t)i * R * R * 3, rec->rgb + (size_t)i * R * R * 3, R * R);
    if (s->valid < 2) return hy_err(HY_EVALUE, "%s: fewer than 2 test items have a detected face in both images", outdir);
    for (int m = 0; m < M; m++) {
        mean_se_finite(s->mi[m].dist, n, &s->dm[m], &s->dse[m], NULL);
        mean_se_finite(s->mi[m].base, n, &s->bm[m], &s->bse[m], NULL);
        mean_se_finite(s->mi[m].ident, n, &s->im[m], &s->ise[m], NULL);
        mean_se_finite(s->mi[m].same, n, &s->sm[m], &s->sse[m], NULL);
        mean_se_finite(s->mi[m].shuf_same, n, &s->hm[m], &s->hse[m], NULL);
    }
    mean_se_finite(s->pix, n, &s->pm, &s->pse, NULL);
    if ((r = image_null(c, gt, n, s->dm, s->null_p, s->null_mean, s->null_sd))) return r;
    s->gmatch = s->age_r = s->age_mae = NAN;
    if (c->attr) attribute_agreement(gt, rec, n, &s->gmatch, &s->age_r, &s->age_mae, &s->n_attr);
    if ((r = measure_latents(c, T, P, n, bdirs, bnames, n_bound, s))) return r;
    // abnormal faces: how often MTCNN takes a reconstruction for a face
    s->face_share = s->face_prob = NAN;
    if (c->crop.mode == FACE_CROP_MTCNN) {
        int hits = 0;
        double sp = 0;
        for (int i = 0; i < n; i++) {
            hits += rec->prob[i] >= STUDY_FACE_P;
            sp += rec->prob[i];
        }
        s->face_share = (double)hits / n;
        s->face_prob = sp / n;
    }
    return HY_OK;
}

// metrics.csv: one row per item (study.h).
static int write_metrics_csv(const study_ctx *c, const face_set *gt, const face_set *rec, int n, const eval_stats *s,
                             const char *outdir) {
    const int M = c->n_models;
    char p[4200];
    hy_outfile o;
    snprintf(p, sizeof p, "%s/metrics.csv", outdir);
    int r = hy_out_open(&o, p);
    if (r) return r;
    fprintf(o.fp, "item");
    for (int m = 0; m < M; m++) {
        const char *nm = c->model[m].name;
        fprintf(o.fp, ",%s_distance,%s_baseline,%s_ident,%s_same", nm, nm, nm, nm);
    }
    fprintf(o.fp, ",pixel_r,latent_cosine%s,crop_gt,crop_recon,mtcnn_prob\n",
            c->attr ? ",age_true,age_recon,p_male_true,p_male_recon" : "");
    for (int i = 0; i < n; i++) {
        fprintf(o.fp, "%d", i);
        for (int m = 0; m < M; m++)
            fprintf(o.fp, ",%.6f,%.6f,%.4f,%.0f", s->mi[m].dist[i], s->mi[m].base[i], s->mi[m].ident[i],
                    s->mi[m].same[i]);
        fprintf(o.fp, ",%.6f,%.6f", s->pix[i], s->lat.cosine[i]);
        if (c->attr) fprintf(o.fp, ",%.3f,%.3f,%.5f,%.5f", gt->age[i], rec->age[i], gt->p_male[i], rec->p_male[i]);
        fprintf(o.fp, ",%c,%c,%.6f\n", gt->how[i], rec->how[i], isnan(rec->prob[i]) ? NAN : (double)rec->prob[i]);
    }
    return hy_out_commit(&o);
}

// summary.csv (metric,mean,se,n), latent_summary.csv and latent_items.csv.
static int write_summary_csv(const study_ctx *c, int n, const eval_stats *s, const char *outdir) {
    char p[4200], p2[4200];
    hy_outfile o;
    snprintf(p, sizeof p, "%s/summary.csv", outdir);
    int r = hy_out_open(&o, p);
    if (r) return r;
    fprintf(o.fp, "metric,mean,se,n\n");
    for (int m = 0; m < c->n_models; m++) {
        const char *nm = c->model[m].name;
        fprintf(o.fp, "%s_distance,%.6f,%.6f,%d\n", nm, s->dm[m], s->dse[m], s->valid);
        fprintf(o.fp, "%s_shuffled_baseline,%.6f,%.6f,%d\n", nm, s->bm[m], s->bse[m], s->valid);
        fprintf(o.fp, "%s_identification,%.6f,%.6f,%d\n", nm, s->im[m], s->ise[m], s->valid);
        fprintf(o.fp, "%s_threshold,%.6g,,\n", nm, c->model[m].e->threshold);
        fprintf(o.fp, "%s_same_rate,%.6g,%.6g,%d\n", nm, s->sm[m], s->sse[m], s->valid);
        fprintf(o.fp, "%s_shuffled_same_rate,%.6g,%.6g,%d\n", nm, s->hm[m], s->hse[m], s->valid);
        fprintf(o.fp, "%s_null_p,%.6g,,%d\n", nm, s->null_p[m], c->n_null);
    }
    fprintf(o.fp, "pixel_luminance_r,%.6f,%.6f,%d\n", s->pm, s->pse, n);
    if (c->attr) {
        fprintf(o.fp, "gender_match,%.6g,,%d\n", s->gmatch, s->n_attr);
        fprintf(o.fp, "age_r,%.6g,,%d\n", s->age_r, s->n_attr);
        fprintf(o.fp, "age_abs_diff,%.6g,,%d\n", s->age_mae, s->n_attr);
    }
    fprintf(o.fp, "latent_cosine,%.6f,%.6f,%d\n", s->cm, s->cse, n);
    fprintf(o.fp, "latent_identification,%.6f,%.6f,%d\n", s->lim, s->lise, n);
    fprintf(o.fp, "collapse_spread_ratio,%.6f,,%d\n", s->lat.spread_pred / s->lat.spread_true, n);
    fprintf(o.fp, "effective_rank_pred,%.4f,,%d\n", s->lat.erank_pred, n);
    fprintf(o.fp, "effective_rank_true,%.4f,,%d\n", s->lat.erank_true, n);
    fprintf(o.fp, "mtcnn_face_share,%.6f,,%d\n", s->face_share, n);
    fprintf(o.fp, "mtcnn_prob_mean,%.6f,,%d\n", s->face_prob, n);
    if ((r = hy_out_commit(&o))) return r;
    snprintf(p, sizeof p, "%s/latent_summary.csv", outdir);
    snprintf(p2, sizeof p2, "%s/latent_items.csv", outdir);
    return hy_met_report_write_csv(&s->lat, p, p2);
}

// summary.txt: the same numbers, readable, with the crop mode and the null.
static int write_summary_txt(const study_ctx *c, const face_set *gt, const face_set *rec, int n, const eval_stats *s,
                             const char *outdir) {
    const size_t cap = 32768;
    char *t = hy_malloc(cap), crop[128], p[4200];
    if (!t) return HY_ENOMEM;
    hy_face_crop_describe(&c->crop, crop, sizeof crop);
    int fallback = 0;
    for (int i = 0; i < n; i++) fallback += (c->crop.mode == FACE_CROP_MTCNN) && (gt->how[i] == 'f' || rec->how[i] == 'f');
    size_t len = (size_t)snprintf(t, cap,
                                  "test items:                 %d (%d with a face in both images, %d MTCNN fallbacks to "
                                  "the full image)\ncrop:                       %s\n",
                                  n, s->valid, fallback, crop);
    for (int m = 0; m < c->n_models && len < cap; m++) {
        char label[64], thr[96] = "no same-person threshold";
        snprintf(label, sizeof label, "%s distance:", c->model[m].name);
        if (isfinite(c->model[m].e->threshold))
            snprintf(thr, sizeof thr, "same person (< %.3g): %.3f, shuffled pairs %.3f", c->model[m].e->threshold,
                     s->sm[m], s->hm[m]);
        len += (size_t)snprintf(t + len, cap - len,
                                "%-27s %.4f +/- %.4f (s.e.); shuffled-pair baseline %.4f; identification %.3f (chance "
                                "0.5)\n%-27s %s; random-latent null: %d latents, mean %.4f sd %.4f, p = %.4g\n",
                                label, s->dm[m], s->dse[m], s->bm[m], s->im[m], "", thr, c->n_null, s->null_mean[m],
                                s->null_sd[m], s->null_p[m]);
    }
    if (c->attr && len < cap)
        len += (size_t)snprintf(t + len, cap - len,
                                "attributes (face-api):      gender match %.3f, age r %.3f, mean |age difference| %.2f "
                                "years (%d items)\n", s->gmatch, s->age_r, s->age_mae, s->n_attr);
    if (len < cap)
        len += (size_t)snprintf(t + len, cap - len,
                                "pixel luminance r:          %.3f +/- %.3f\n"
                                "latent cosine:              %.4f +/- %.4f\n"
                                "latent 2-way identification: %.3f +/- %.3f (chance 0.5)\n"
                                "collapse (spread ratio):    %.3f (1 = as varied as the truth; near 0 = one face)\n"
                                "effective rank pred/true:   %.2f / %.2f\n",
                                s->pm, s->pse, s->cm, s->cse, s->lim, s->lise, s->lat.spread_pred / s->lat.spread_true,
                                s->lat.erank_pred, s->lat.erank_true);
    if (!isnan(s->face_share) && len < cap)
        snprintf(t + len, cap - len,
                 "MTCNN faces (p >= %.1f):     %.3f of the reconstructions (mean probability %.3f; 0 where none)\n",
                 STUDY_FACE_P, s->face_share, s->face_prob);
    snprintf(p, sizeof p, "%s/summary.txt", outdir);
    int r = write_text(p, t);
    free(t);
    return r;
}

// comparison.png, titled with the run (sum) or the folder, and pred_faces/ when asked.
static int write_pictures(const study_ctx *c, const face_set *gt, const face_set *rec, int n, const eval_stats *s,
                          const char *outdir, int save_faces, const run_summary *sum) {
    const int R = c->gen->resolution;
    char p[4200], title[400];
    if (sum && sum->name[0])
        snprintf(title, sizeof title, "%.150s (%s%.150s): ground truth vs reconstruction", sum->name,
                 strncmp(sum->model, "from ", 5) ? "model " : "", sum->model[0] ? sum->model : "?");
    else snprintf(title, sizeof title, "%.300s: ground truth vs reconstruction", outdir);
    snprintf(p, sizeof p, "%s/comparison.png", outdir);
    int r = hy_study_comparison_png(p, gt, rec, s->mi[0].dist, hy_report_model_label(c->model[0].name), 36, title);
    if (r || !save_faces) return r;
    snprintf(p, sizeof p, "%s/pred_faces", outdir);
    if ((r = hy_mkdir_p(p))) return r;
    for (int i = 0; i < n && !r; i++) {
        snprintf(p, sizeof p, "%s/pred_faces/%06d.png", outdir, i);
        r = hy_png_write_rgb8(p, R, R, rec->rgb + (size_t)i * R * R * 3);
    }
    return r;
}

// The run's summary row (report.h) from the evaluation.
static void fill_run_summary(const study_ctx *c, const eval_stats *s, run_summary *sum) {
    sum->dist_mean = s->dm[0];
    sum->dist_se = s->dse[0];
    sum->baseline = s->bm[0];
    sum->null_p = s->null_p[0];
    sum->cosine = s->cm;
    sum->ident_acc = s->im[0];
    sum->collapse = s->lat.spread_pred / s->lat.spread_true;
    sum->pixel_r = s->pm;
    sum->erank = s->lat.erank_pred;
    sum->erank_true = s->lat.erank_true;
    sum->ident_latent = s->lim;
    sum->mtcnn_share = s->face_share;
    sum->mtcnn_prob = s->face_prob;
    sum->gender_match = s->gmatch;
    sum->age_r = s->age_r;
    sum->n_models = c->n_models;
    for (int m = 0; m < c->n_models; m++) {
        model_summary *x = &sum->models[m];
        snprintf(x->name, sizeof x->name, "%s", c->model[m].name);
        x->dist_mean = s->dm[m], x->dist_se = s->dse[m], x->threshold = c->model[m].e->threshold;
        x->same_rate = s->sm[m], x->shuffled_same = s->hm[m], x->null_p = s->null_p[m];
    }
}

int hy_study_evaluate(study_ctx *c, const float *T, const float *P, int n, const face_set *gt, const char *outdir,
                   const double *bdirs, char (*bnames)[128], int n_bound, int save_faces, run_summary *sum) {
    if (n < 2) return hy_err(HY_ESHAPE, "evaluation needs at least 2 test items, got %d", n);
    int r = hy_mkdir_p(outdir);
    if (r) return r;
    face_set rec = {0};
    eval_stats s;
    memset(&s, 0, sizeof s);
    if (!(r = hy_study_faces(c, P, n, "reconstruction", &rec)) &&
        !(r = measure(c, T, P, n, gt, &rec, outdir, bdirs, bnames, n_bound, &s)) &&
        !(r = write_metrics_csv(c, gt, &rec, n, &s, outdir)) && !(r = write_summary_csv(c, n, &s, outdir)) &&
        !(r = write_summary_txt(c, gt, &rec, n, &s, outdir)) &&
        !(r = write_pictures(c, gt, &rec, n, &s, outdir, save_faces, sum)) && sum)
        fill_run_summary(c, &s, sum);
    hy_face_set_free(&rec);
    eval_stats_free(&s);
    return r;
}

// --- loading ----------------------------------------------------------------------------

// "NAME=PATH" or "PATH" -> name, path; the default name is the kind's short name.
static int model_spec(const char *spec, char name[32], const char **path) {
    const char *eq = strchr(spec, '=');
    size_t k = eq ? (size_t)(eq - spec) : 0;
    int named = eq && k >= 1 && k <= 24;
    for (size_t i = 0; named && i < k; i++)
        named = (spec[i] >= 'a' && spec[i] <= 'z') || (spec[i] >= 'A' && spec[i] <= 'Z') ||
                (spec[i] >= '0' && spec[i] <= '9') || spec[i] == '_' || spec[i] == '-';
    if (eq && !named)
        return hy_err(HY_EARG, "identity model '%s': NAME in NAME=PATH must be 1-24 of A-Z a-z 0-9 _ -", spec);
    name[0] = 0;
    if (named) memcpy(name, spec, k), name[k] = 0;
    *path = named ? eq + 1 : spec;
    return HY_OK;
}

int hy_study_models_open(study_models *m, const char *g, const char *const *embedders, int n_embedders,
                         const char *attributes, const char *detect, const char *crop, const char *on_no_face) {
    memset(m, 0, sizeof *m);
    hy_study_defaults(&m->ctx);
    if (n_embedders > STUDY_MAX_MODELS)
        return hy_err(HY_EARG, "%d identity models given, at most %d", n_embedders, STUDY_MAX_MODELS);
    int r = hy_face_crop_setup(&m->ctx.crop, crop, on_no_face, detect, &m->det, &m->has_det);
    if (r) return r;
    if (m->has_det) m->ctx.crop.det = &m->det;
    if ((r = hy_pggan_load(&m->gen, g))) goto fail;
    m->has_gen = 1;
    m->ctx.gen = &m->gen;
    for (int k = 0; k < n_embedders; k++) {
        study_model *sm = &m->ctx.model[k];
        const char *path = NULL;
        if ((r = model_spec(embedders[k], sm->name, &path))) goto fail;
        if ((r = hy_embedder_load(&m->emb[k], path))) goto fail;
        m->n_emb = m->ctx.n_models = k + 1;
        sm->e = &m->emb[k];
        if (!sm->name[0]) snprintf(sm->name, sizeof sm->name, "%s", sm->e->type == EMBEDDER_FACENET ? "facenet" : "faceapi");
        for (int j = 0; j < k; j++)
            if (!strcmp(m->ctx.model[j].name, sm->name)) {
                r = hy_err(HY_EARG, "two identity models are named '%s'; name them with NAME=PATH", sm->name);
                goto fail;
            }
    }
    if (attributes) {
        if ((r = hy_faceapi_agegender_load(&m->attr, attributes))) goto fail;
        m->has_attr = 1;
        m->ctx.attr = &m->attr;
    }
    return HY_OK;
fail:
    hy_study_models_close(m);
    return r;
}

void hy_study_models_close(study_models *m) {
    if (m->has_gen) hy_pggan_free(&m->gen);
    for (int k = 0; k < m->n_emb; k++) hy_embedder_free(&m->emb[k]);
    if (m->has_attr) hy_faceapi_agegender_free(&m->attr);
    if (m->has_det) hy_mtcnn_free(&m->det);
    memset(m, 0, sizeof *m);
}

float *hy_study_to_f32(const double *x, size_t n) {
    float *y = hy_malloc(n * sizeof(float));
    if (y)
        for (size_t i = 0; i < n; i++) y[i] = (float)x[i];
    return y;
}
