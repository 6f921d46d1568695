// facecrop.c - the face-crop policy of include/models/facecrop.h.
#include "models/facecrop.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "models/faceapi.h"  // hy_faceapi_dlib_box, hy_faceapi_detector_box

// "x1,y1,x2,y2": four decimal integers in 0..FACE_CROP_MAX_COORD, nothing else.
static int parse_box(const char *s, crop_box *b) {
    int *v[4] = {&b->x1, &b->y1, &b->x2, &b->y2};
    for (int k = 0; k < 4; k++) {
        char *end;
        errno = 0;
        if (*s < '0' || *s > '9') return HY_EARG;  // no sign, no space
        long x = strtol(s, &end, 10);
        if (errno || x > FACE_CROP_MAX_COORD || *end != (k < 3 ? ',' : '\0')) return HY_EARG;
        *v[k] = (int)x;
        s = end + (k < 3);
    }
    return (b->x2 > b->x1 && b->y2 > b->y1) ? HY_OK : HY_EARG;
}

int hy_face_crop_parse(face_crop_opts *o, const char *crop, const char *on_no_face) {
    memset(o, 0, sizeof *o);
    o->mode = FACE_CROP_MTCNN;
    o->on_no_face = NOFACE_FALLBACK_FULL;
    if (crop) {
        if (!strcmp(crop, "mtcnn")) o->mode = FACE_CROP_MTCNN;
        else if (!strcmp(crop, "full")) o->mode = FACE_CROP_FULL;
        else if (!strncmp(crop, "box:", 4)) {
            if (parse_box(crop + 4, &o->box))
                return hy_err(HY_EARG, "crop '%s' is not box:x1,y1,x2,y2 with 0 <= x1 < x2 and 0 <= y1 < y2 "
                              "(integers up to %d)", crop, FACE_CROP_MAX_COORD);
            o->mode = FACE_CROP_BOX;
        } else
            return hy_err(HY_EARG, "crop '%s' is not mtcnn, full or box:x1,y1,x2,y2", crop);
    }
    if (on_no_face) {
        if (!strcmp(on_no_face, "fallback-full")) o->on_no_face = NOFACE_FALLBACK_FULL;
        else if (!strcmp(on_no_face, "skip")) o->on_no_face = NOFACE_SKIP;
        else if (!strcmp(on_no_face, "error")) o->on_no_face = NOFACE_ERROR;
        else return hy_err(HY_EARG, "on-no-face policy '%s' is not fallback-full, skip or error", on_no_face);
    }
    return HY_OK;
}

int hy_face_crop_setup(face_crop_opts *o, const char *crop, const char *on_no_face, const char *detect,
                    mtcnn_model *det, int *has_det) {
    *has_det = 0;
    int r = hy_face_crop_parse(o, crop, on_no_face);
    if (r || o->mode != FACE_CROP_MTCNN) return r;
    const char *d = detect ? detect : (hy_path_exists(FACE_CROP_DEFAULT_MTCNN) ? FACE_CROP_DEFAULT_MTCNN : NULL);
    if (!d) {
        hy_note("warning: no MTCNN weights (none given, and no %s; see convert/mtcnn.py): faces are not "
                "detected; using the whole image", FACE_CROP_DEFAULT_MTCNN);
        o->mode = FACE_CROP_FULL;
        return HY_OK;
    }
    if ((r = hy_mtcnn_load(det, d))) return r;
    *has_det = 1;
    o->det = det;
    return HY_OK;
}

void hy_face_crop_describe(const face_crop_opts *o, char *buf, int len) {
    static const char *pol[] = {"fallback-full", "skip", "error"};
    // the detector file's CRC-32 too: results (and caches, sweep setups) made with another
    // MTCNN must not pass for these
    if (o->mode == FACE_CROP_MTCNN && o->det)
        snprintf(buf, (size_t)len, "mtcnn(on-no-face=%s,detector_crc=%08x)", pol[o->on_no_face],
                 hy_crc32(0, o->det->wf.buf, o->det->wf.size));
    else if (o->mode == FACE_CROP_MTCNN) snprintf(buf, (size_t)len, "mtcnn(on-no-face=%s)", pol[o->on_no_face]);
    else if (o->mode == FACE_CROP_FULL) snprintf(buf, (size_t)len, "full");
    else snprintf(buf, (size_t)len, "box:%d,%d,%d,%d", o->box.x1, o->box.y1, o->box.x2, o->box.y2);
}

int hy_face_crop_find(const face_crop_opts *o, const char *name, const uint8_t *rgb, int w, int h, face_found *f) {
    memset(f, 0, sizeof *f);
    f->prob = o->mode == FACE_CROP_MTCNN ? 0.0f : NAN;
    if (o->mode == FACE_CROP_FULL) {
        f->how = 'f';
        return HY_OK;
    }
    if (o->mode == FACE_CROP_BOX) {
        f->how = 'b';
        return hy_crop_check(&o->box, w, h, name);
    }
    // (hy_mtcnn_detect runs on one thread: see its serial section in src/models/mtcnn.c)
    mtcnn_face *faces = NULL;
    int n = 0, r = hy_mtcnn_detect(o->det, NULL, rgb, w, h, &faces, &n, NULL);
    if (r) return r;
    if (n > 0) {
        f->face = faces[0];  // the largest
        f->prob = faces[0].prob;
        f->how = 'm';
        free(faces);
        return HY_OK;
    }
    free(faces);
    switch (o->on_no_face) {
    case NOFACE_ERROR: return hy_err(HY_EVALUE, "%s: no face found (on-no-face policy: error)", name);
    case NOFACE_SKIP:
        hy_note("warning: %s: no face found; skipped (on-no-face policy: skip)", name);
        f->how = 's';
        return HY_OK;
    default:
        hy_note("warning: %s: no face found; using the whole image (on-no-face policy: fallback-full)", name);
        f->how = 'f';
        return HY_OK;
    }
}

int hy_face_crop_box(const face_crop_opts *o, const face_found *f, crop_rule rule, const char *name, int w, int h,
                     crop_box *box) {
    switch (f->how) {
    case 'f': *box = hy_crop_full(w, h); return HY_OK;
    case 'b': *box = o->box; return hy_crop_check(box, w, h, name);
    case 'm': break;
    default: return hy_err(HY_EARG, "%s: no face to crop (skipped)", name);
    }
    int r, xy[4];
    if (rule == CROP_RULE_FACENET) {
        if ((r = hy_mtcnn_facenet_box(f->face.box, w, h, o->margin, 160, xy)) == HY_OK)
            box->x1 = xy[0], box->y1 = xy[1], box->x2 = xy[2], box->y2 = xy[3];
    } else if (rule == CROP_RULE_FACE_CHIP) r = hy_faceapi_dlib_box(f->face.lm, w, h, box);
    else r = hy_faceapi_detector_box(f->face.box, w, h, box);
    if (r) return hy_err(HY_EVALUE, "%s: the detected face's crop has no pixels in the %dx%d image", name, w, h);
    return hy_crop_check(box, w, h, name);
}

int hy_face_crop_choose(const face_crop_opts *o, crop_rule rule, const char *name, const uint8_t *rgb, int w, int h,
                        crop_box *box, char *how) {
    face_found f;
    int r = hy_face_crop_find(o, name, rgb, w, h, &f);
    if (r) return r;
    *how = f.how;
    return f.how == 's' ? HY_OK : hy_face_crop_box(o, &f, rule, name, w, h, box);
}
