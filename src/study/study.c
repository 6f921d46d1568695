// study.c - image-level evaluation of predicted latents (see include/study/study.h).
#include "study/study.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/draw.h"
#include "base/image_io.h"
#include "study/metrics.h"
#include "base/npy.h"
#include "base/rng.h"

#define FACE_SIZE 160  // FaceNet input

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
    free(s->emb);
    free(s->how);
    memset(s, 0, sizeof *s);
}

static int face_set_alloc(face_set *s, int n, int R, int emb_dim) {
    memset(s, 0, sizeof *s);
    s->n = n;
    s->R = R;
    s->rgb = hy_malloc((size_t)n * R * R * 3);
    s->emb = hy_malloc((size_t)n * emb_dim * sizeof(float));
    s->how = hy_calloc((size_t)n + 1, 1);
    if (!s->rgb || !s->emb || !s->how) {
        hy_face_set_free(s);
        return HY_ENOMEM;
    }
    return HY_OK;
}

// Crops, standardises and embeds images [0, n) of s (already rendered), in batches.
static int embed_set(study_ctx *c, face_set *s, const char *label) {
    int R = s->R, D = c->net->emb_dim, B = c->batch > 0 ? c->batch : 16;
    size_t img = (size_t)3 * FACE_SIZE * FACE_SIZE;
    float *in = hy_malloc(img * (size_t)B * sizeof(float)), *out = hy_malloc((size_t)B * D * sizeof(float));
    int *slot = hy_malloc(sizeof(int) * (size_t)B), r = HY_OK;
    if (!in || !out || !slot) {
        r = HY_ENOMEM;
        goto done;
    }
    for (int i0 = 0; i0 < s->n && !r; i0 += B) {
        int nb = 0;
        for (int i = i0; i < s->n && i < i0 + B; i++) {
            char name[96];
            snprintf(name, sizeof name, "%s %d", label, i);
            const uint8_t *rgb = s->rgb + (size_t)i * R * R * 3;
            crop_box box;
            if ((r = hy_face_crop_choose(&c->crop, CROP_RULE_FACENET, name, rgb, R, R, &box, &s->how[i]))) break;
            if (s->how[i] == 's') {
                for (int k = 0; k < D; k++) s->emb[(size_t)i * D + k] = NAN;
                continue;
            }
            if ((r = hy_face_preprocess(in + (size_t)nb * img, NULL, FACE_SIZE, rgb, R, R, &box))) break;
            slot[nb++] = i;
        }
        if (r || nb == 0) continue;
        if ((r = hy_facenet_forward(c->net, in, nb, out, NULL, NULL))) break;
        for (int k = 0; k < nb; k++) memcpy(s->emb + (size_t)slot[k] * D, out + (size_t)k * D, sizeof(float) * D);
    }
done:
    free(in);
    free(out);
    free(slot);
    return r;
}

int hy_study_faces(study_ctx *c, const float *z, int n, const char *label, face_set *out) {
    int R = c->gen->resolution, L = c->gen->latent;
    int r = face_set_alloc(out, n, R, c->net->emb_dim);
    if (r) return r;
    float *img = hy_malloc(sizeof(float) * 3 * (size_t)R * R);
    if (!img) {
        hy_face_set_free(out);
        return HY_ENOMEM;
    }
    for (int i = 0; i < n && !r; i++) {
        if (!(r = hy_pggan_forward(c->gen, z + (size_t)i * L, img, NULL, NULL)))
            hy_img_f32_to_rgb8(out->rgb + (size_t)i * R * R * 3, img, R, R);
    }
    free(img);
    if (!r) r = embed_set(c, out, label);
    if (r) hy_face_set_free(out);
    return r;
}

// --- ground-truth cache ---------------------------------------------------------------

static void cache_key(study_ctx *c, const float *T, int n, char *key, int len) {
    char crop[128];
    hy_face_crop_describe(&c->crop, crop, sizeof crop);
    uint32_t lat = hy_crc32(0, T, sizeof(float) * (size_t)n * c->gen->latent);
    uint32_t g = hy_crc32(0, c->gen->wf.buf, c->gen->wf.size), f = hy_crc32(0, c->net->wf.buf, c->net->wf.size);
    snprintf(key, (size_t)len, "n=%d latents_crc=%08x generator_crc=%08x facenet_crc=%08x crop=%s\n", n, lat, g, f,
             crop);
}

static int load_cached(study_ctx *c, int n, const char *dir, face_set *out) {
    int R = c->gen->resolution, D = c->net->emb_dim, r;
    char p[4200];
    if ((r = face_set_alloc(out, n, R, D))) return r;
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/faces/%06d.png", dir, i);
        int w, h;
        uint8_t *rgb;
        if ((r = hy_png_read_rgb8(p, &w, &h, &rgb))) goto fail;
        if (w != R || h != R) {
            free(rgb);
            r = hy_err(HY_ESHAPE, "%s: cached face is %dx%d, expected %dx%d", p, w, h, R, R);
            goto fail;
        }
        memcpy(out->rgb + (size_t)i * R * R * 3, rgb, (size_t)R * R * 3);
        free(rgb);
    }
    snprintf(p, sizeof p, "%s/embeddings.npy", dir);
    npy_f32 e;
    if ((r = hy_npy_read_f32(p, &e, 1))) goto fail;
    if (e.ndim != 2 || e.dims[0] != n || e.dims[1] != D) {
        hy_npy_free_f32(&e);
        r = hy_err(HY_ESHAPE, "%s: cached embeddings do not match (%d, %d)", p, n, D);
        goto fail;
    }
    memcpy(out->emb, e.data, sizeof(float) * (size_t)n * D);
    hy_npy_free_f32(&e);
    snprintf(p, sizeof p, "%s/crops.txt", dir);
    FILE *f = fopen(p, "r");
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
    char key[512], p[4200], old[512] = {0};
    cache_key(c, T, n, key, sizeof key);
    snprintf(p, sizeof p, "%s/key.txt", cache_dir);
    FILE *f = fopen(p, "r");
    if (f) {
        size_t k = fread(old, 1, sizeof old - 1, f);
        old[k] = 0;
        fclose(f);
        if (!strcmp(old, key) && load_cached(c, n, cache_dir, out) == HY_OK) return HY_OK;
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
    snprintf(p, sizeof p, "%s/embeddings.npy", cache_dir);
    if ((r = hy_npy_write_f32(p, 2, (int64_t[]){n, c->net->emb_dim}, out->emb))) goto fail;
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

static double emb_dist(const float *a, const float *b, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) {
        double t = (double)a[k] - b[k];
        s += t * t;
    }
    return sqrt(s);
}

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

int hy_study_comparison_png(const char *path, const face_set *gt, const face_set *rec, const double *dist,
                         int max_items) {
    int n = gt->n < max_items ? gt->n : max_items, cols = n < 9 ? n : 9, rows = (n + cols - 1) / cols;
    int T = 112, pad = 6, lab = 16, left = 70;
    int W = left + cols * (T + pad) + pad, H = rows * (2 * T + lab + 3 * pad) + pad;
    canvas c;
    rgb_color white = {255, 255, 255}, black = {0, 0, 0}, grey = {90, 90, 90};
    int r = hy_canvas_new(&c, W, H, white);
    if (r) return r;
    for (int i = 0; i < n; i++) {
        int row = i / cols, col = i % cols;
        int x = left + pad + col * (T + pad), y = pad + row * (2 * T + lab + 3 * pad);
        hy_draw_image(&c, x, y, T, T, gt->rgb + (size_t)i * gt->R * gt->R * 3, gt->R, gt->R);
        hy_draw_image(&c, x, y + T + pad, T, T, rec->rgb + (size_t)i * rec->R * rec->R * 3, rec->R, rec->R);
        char s[48];
        if (!dist) snprintf(s, sizeof s, "#%d", i);
        else if (isfinite(dist[i])) snprintf(s, sizeof s, "#%d d=%.3f", i, dist[i]);
        else snprintf(s, sizeof s, "#%d no face", i);
        hy_draw_text(&c, x, y + 2 * T + pad + 2, s, 1, grey);
        if (col == 0) {
            hy_draw_text(&c, 6, y + T / 2 - 5, "truth", 1, black);
            hy_draw_text(&c, 6, y + T + pad + T / 2 - 5, "recon", 1, black);
        }
    }
    r = hy_png_write_rgb8(path, c.w, c.h, c.px);
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

int hy_study_evaluate(study_ctx *c, const float *T, const float *P, int n, const face_set *gt, const char *outdir,
                   const double *bdirs, char (*bnames)[128], int n_bound, int save_faces, run_summary *sum) {
    int L = c->gen->latent, D = c->net->emb_dim, R = c->gen->resolution, r;
    if (n < 2) return hy_err(HY_ESHAPE, "evaluation needs at least 2 test items, got %d", n);
    if ((r = hy_mkdir_p(outdir))) return r;
    face_set rec = {0};
    double *dist = NULL, *base = NULL, *ident = NULL, *pix = NULL, *Pd = NULL, *Td = NULL, *nullm = NULL;
    met_report lat = {0};
    char *summary = NULL;
    if ((r = hy_study_faces(c, P, n, "reconstruction", &rec))) goto out;
    dist = hy_calloc((size_t)n, sizeof *dist);
    base = hy_calloc((size_t)n, sizeof *base);
    ident = hy_calloc((size_t)n, sizeof *ident);
    pix = hy_calloc((size_t)n, sizeof *pix);
    Pd = hy_malloc(sizeof(double) * (size_t)n * L);
    Td = hy_malloc(sizeof(double) * (size_t)n * L);
    summary = hy_malloc(16384);
    if (!dist || !base || !ident || !pix || !Pd || !Td || !summary) {
        r = HY_ENOMEM;
        goto out;
    }
    // per item
    int valid = 0;
    for (int i = 0; i < n; i++) {
        pix[i] = luminance_r(gt->rgb + (size_t)i * R * R * 3, rec.rgb + (size_t)i * R * R * 3, R * R);
        const float *ri = rec.emb + (size_t)i * D, *gi = gt->emb + (size_t)i * D;
        if (gt->how[i] == 's' || rec.how[i] == 's') {
            dist[i] = base[i] = ident[i] = NAN;
            continue;
        }
        dist[i] = emb_dist(ri, gi, D);
        double sb = 0, si = 0;
        int k = 0;
        for (int j = 0; j < n; j++) {
            if (j == i || gt->how[j] == 's') continue;
            double dj = emb_dist(ri, gt->emb + (size_t)j * D, D);
            sb += dj;
            si += dist[i] < dj ? 1.0 : dist[i] == dj ? 0.5 : 0.0;
            k++;
        }
        base[i] = k ? sb / k : NAN;
        ident[i] = k ? si / k : NAN;
        valid++;
    }
    if (valid < 2) {
        r = hy_err(HY_EVALUE, "%s: fewer than 2 test items have a detected face in both images", outdir);
        goto out;
    }
    double dm, dse, bm, bse, im, ise, pm, pse;
    {
        double *tmp = hy_malloc(sizeof(double) * (size_t)n);
        if (!tmp) {
            r = HY_ENOMEM;
            goto out;
        }
        int k = 0;
#define MEAN_SE(arr, m, se)                                             \
    k = 0;                                                              \
    for (int i = 0; i < n; i++)                                         \
        if (isfinite(arr[i])) tmp[k++] = arr[i];                        \
    hy_met_mean_se(tmp, k, &m, &se);
        MEAN_SE(dist, dm, dse);
        MEAN_SE(base, bm, bse);
        MEAN_SE(ident, im, ise);
        MEAN_SE(pix, pm, pse);
#undef MEAN_SE
        free(tmp);
    }
    // random-latent null at the image level
    double null_p = NAN, null_mean = NAN, null_sd = NAN;
    if (c->n_null > 0) {
        float *z = hy_malloc(sizeof(float) * (size_t)c->n_null * L);
        nullm = hy_calloc((size_t)c->n_null, sizeof(double));
        if (!z || !nullm) {
            free(z);
            r = HY_ENOMEM;
            goto out;
        }
        mt19937 rng;
        hy_mt_seed(&rng, c->seed);
        hy_mt_randn_f32(&rng, z, (long)c->n_null * L);
        face_set nf;
        r = hy_study_faces(c, z, c->n_null, "null latent", &nf);
        free(z);
        if (r) goto out;
        int below = 0, used = 0;
        double s1 = 0, s2 = 0;
        for (int k = 0; k < c->n_null; k++) {
            if (nf.how[k] == 's') continue;
            double s = 0;
            int m = 0;
            for (int i = 0; i < n; i++)
                if (gt->how[i] != 's') s += emb_dist(nf.emb + (size_t)k * D, gt->emb + (size_t)i * D, D), m++;
            nullm[used] = s / m;
            below += nullm[used] <= dm;
            s1 += nullm[used], s2 += nullm[used] * nullm[used];
            used++;
        }
        hy_face_set_free(&nf);
        if (used) {
            null_p = (1.0 + below) / (1.0 + used);
            null_mean = s1 / used;
            null_sd = used > 1 ? sqrt(fmax(0, (s2 - s1 * s1 / used) / (used - 1))) : 0;
        }
    }
    // latent-level metrics
    for (size_t k = 0; k < (size_t)n * L; k++) Pd[k] = P[k], Td[k] = T[k];
    if ((r = hy_met_report_compute(&lat, Pd, Td, n, L, c->n_null_latent, c->seed, bdirs, bnames, n_bound))) goto out;
    double cm, cse;
    hy_met_mean_se(lat.cosine, n, &cm, &cse);

    // --- outputs
    char p[4200];
    hy_outfile o;
    snprintf(p, sizeof p, "%s/metrics.csv", outdir);
    if ((r = hy_out_open(&o, p))) goto out;
    fprintf(o.fp, "item,facenet_distance,baseline,ident,pixel_r,latent_cosine,crop_gt,crop_recon\n");
    for (int i = 0; i < n; i++)
        fprintf(o.fp, "%d,%.6f,%.6f,%.4f,%.6f,%.6f,%c,%c\n", i, dist[i], base[i], ident[i], pix[i], lat.cosine[i],
                gt->how[i], rec.how[i]);
    if ((r = hy_out_commit(&o))) goto out;
    snprintf(p, sizeof p, "%s/summary.csv", outdir);
    if ((r = hy_out_open(&o, p))) goto out;
    fprintf(o.fp, "metric,mean,se,n\n");
    fprintf(o.fp, "facenet_distance,%.6f,%.6f,%d\n", dm, dse, valid);
    fprintf(o.fp, "shuffled_baseline,%.6f,%.6f,%d\n", bm, bse, valid);
    fprintf(o.fp, "facenet_identification,%.6f,%.6f,%d\n", im, ise, valid);
    fprintf(o.fp, "pixel_luminance_r,%.6f,%.6f,%d\n", pm, pse, n);
    fprintf(o.fp, "null_p,%.6g,,%d\n", null_p, c->n_null);
    fprintf(o.fp, "latent_cosine,%.6f,%.6f,%d\n", cm, cse, n);
    fprintf(o.fp, "collapse_spread_ratio,%.6f,,%d\n", lat.spread_pred / lat.spread_true, n);
    fprintf(o.fp, "effective_rank_pred,%.4f,,%d\n", lat.erank_pred, n);
    fprintf(o.fp, "effective_rank_true,%.4f,,%d\n", lat.erank_true, n);
    if ((r = hy_out_commit(&o))) goto out;
    snprintf(p, sizeof p, "%s/latent_summary.csv", outdir);
    char p2[4200];
    snprintf(p2, sizeof p2, "%s/latent_items.csv", outdir);
    if ((r = hy_met_report_write_csv(&lat, p, p2))) goto out;
    char crop[128];
    hy_face_crop_describe(&c->crop, crop, sizeof crop);
    int skipped = n - valid, fallback = 0;
    for (int i = 0; i < n; i++) fallback += (c->crop.mode == FACE_CROP_MTCNN) && (gt->how[i] == 'f' || rec.how[i] == 'f');
    int len = snprintf(summary, 16384,
                       "test items:                 %d (%d with a face in both images, %d MTCNN fallbacks to the full image)\n"
                       "crop:                       %s\n"
                       "FaceNet distance:           %.4f +/- %.4f (s.e.)\n"
                       "shuffled-pair baseline:     %.4f +/- %.4f\n"
                       "FaceNet identification:     %.3f +/- %.3f (chance 0.5)\n"
                       "pixel luminance r:          %.3f +/- %.3f\n"
                       "random-latent null:         %d latents, mean %.4f sd %.4f, p = %.4g\n"
                       "latent cosine:              %.4f +/- %.4f\n"
                       "collapse (spread ratio):    %.3f (1 = as varied as the truth; near 0 = one face)\n"
                       "effective rank pred/true:   %.2f / %.2f\n",
                       n, valid, fallback, crop, dm, dse, bm, bse, im, ise, pm, pse, c->n_null, null_mean, null_sd,
                       null_p, cm, cse, lat.spread_pred / lat.spread_true, lat.erank_pred, lat.erank_true);
    (void)len;
    (void)skipped;
    snprintf(p, sizeof p, "%s/summary.txt", outdir);
    if ((r = write_text(p, summary))) goto out;
    snprintf(p, sizeof p, "%s/comparison.png", outdir);
    if ((r = hy_study_comparison_png(p, gt, &rec, dist, 36))) goto out;
    if (save_faces) {
        snprintf(p, sizeof p, "%s/pred_faces", outdir);
        if ((r = hy_mkdir_p(p))) goto out;
        for (int i = 0; i < n; i++) {
            snprintf(p, sizeof p, "%s/pred_faces/%06d.png", outdir, i);
            if ((r = hy_png_write_rgb8(p, R, R, rec.rgb + (size_t)i * R * R * 3))) goto out;
        }
    }
    if (sum) {
        sum->dist_mean = dm;
        sum->dist_se = dse;
        sum->baseline = bm;
        sum->null_p = null_p;
        sum->cosine = cm;
        sum->ident_acc = im;
        sum->collapse = lat.spread_pred / lat.spread_true;
        sum->pixel_r = pm;
    }
out:
    hy_face_set_free(&rec);
    hy_met_report_free(&lat);
    free(dist), free(base), free(ident), free(pix), free(Pd), free(Td), free(nullm), free(summary);
    return r;
}

// --- loading ----------------------------------------------------------------------------

int hy_study_models_open(study_models *m, const char *g, const char *f, const char *detect, const char *crop,
                      const char *on_no_face) {
    memset(m, 0, sizeof *m);
    hy_study_defaults(&m->ctx);
    int r = hy_face_crop_setup(&m->ctx.crop, crop, on_no_face, detect, &m->det, &m->has_det);
    if (r) return r;
    if (m->has_det) m->ctx.crop.det = &m->det;
    if ((r = hy_pggan_load(&m->gen, g))) goto fail;
    m->has_gen = 1;
    m->ctx.gen = &m->gen;
    if (f) {
        if ((r = hy_facenet_load(&m->net, f))) goto fail;
        m->has_net = 1;
        m->ctx.net = &m->net;
    }
    return HY_OK;
fail:
    hy_study_models_close(m);
    return r;
}

void hy_study_models_close(study_models *m) {
    if (m->has_gen) hy_pggan_free(&m->gen);
    if (m->has_net) hy_facenet_free(&m->net);
    if (m->has_det) hy_mtcnn_free(&m->det);
    memset(m, 0, sizeof *m);
}

float *hy_study_to_f32(const double *x, size_t n) {
    float *y = hy_malloc(n * sizeof(float));
    if (y)
        for (size_t i = 0; i < n; i++) y[i] = (float)x[i];
    return y;
}
