// bids.c - one subject's task runs, events, confounds and mask by the BIDS naming rules
// (see include/glm/bids.h).
#include "glm/bids.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/common.h"

// A BIDS file name: key-value entities in order, then the suffix and the extension.
typedef struct {
    int n;
    char key[16][24], val[16][96];
    char suffix[48], ext[16];
} bids_name;

static int parse_name(const char *fname, bids_name *b) {
    memset(b, 0, sizeof *b);
    const char *dot = strchr(fname, '.');
    if (!dot || strlen(dot) >= sizeof b->ext) return 0;
    snprintf(b->ext, sizeof b->ext, "%s", dot);
    char body[400];
    size_t len = (size_t)(dot - fname);
    if (len >= sizeof body) return 0;
    memcpy(body, fname, len);
    body[len] = 0;
    char *last = strrchr(body, '_');
    if (!last || strlen(last + 1) >= sizeof b->suffix) return 0;
    snprintf(b->suffix, sizeof b->suffix, "%s", last + 1);
    *last = 0;
    for (char *p = body; p && *p;) {
        char *us = strchr(p, '_');
        if (us) *us = 0;
        char *dash = strchr(p, '-');
        if (!dash || b->n >= 16 || (size_t)(dash - p) >= sizeof b->key[0] || strlen(dash + 1) >= sizeof b->val[0]) return 0;
        memcpy(b->key[b->n], p, (size_t)(dash - p));
        b->key[b->n][dash - p] = 0;
        snprintf(b->val[b->n], sizeof b->val[0], "%s", dash + 1);
        b->n++;
        p = us ? us + 1 : NULL;
    }
    return b->n > 0;
}

static const char *entity(const bids_name *b, const char *key) {
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->key[i], key)) return b->val[i];
    return NULL;
}

// The entities a raw file of the run carries (derivative-only ones such as space, res, desc and
// the echo of multi-echo data dropped), joined in the order of the name.
static void raw_stem(const bids_name *b, char *out, size_t cap) {
    static const char *raw[] = {"sub", "ses", "task", "acq", "ce", "rec", "dir", "run", "part", NULL};
    size_t o = 0;
    out[0] = 0;
    for (int i = 0; i < b->n; i++)
        for (const char **k = raw; *k; k++)
            if (!strcmp(b->key[i], *k) && o < cap) {
                o += (size_t)snprintf(out + o, cap - o, "%s%s-%s", o ? "_" : "", b->key[i], b->val[i]);
                break;
            }
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

typedef struct {
    char path[1024], name[400], ses[96];
    long run;
    bids_name b;
} candidate;

static int cmp_candidate(const void *x, const void *y) {
    const candidate *a = x, *b = y;
    int c = strcmp(a->ses, b->ses);
    if (c) return c;
    if (a->run != b->run) return a->run < b->run ? -1 : 1;
    return strcmp(a->name, b->name);
}

// Adds the BOLD files of one func folder that match (raw: no space/desc; derivatives: desc-preproc
// and the space if given).
static int scan_func(const char *dir, const char *sub, const char *task, int deriv, const char *space, candidate *c,
                     int *n) {
    DIR *d = opendir(dir);
    if (!d) return HY_OK;
    struct dirent *e;
    int rc = HY_OK;
    while ((e = readdir(d)) && !rc) {
        bids_name b;
        if (!parse_name(e->d_name, &b) || strcmp(b.suffix, "bold") || (strcmp(b.ext, ".nii") && strcmp(b.ext, ".nii.gz")))
            continue;
        const char *s = entity(&b, "sub"), *t = entity(&b, "task"), *sp = entity(&b, "space"), *ds = entity(&b, "desc");
        if (!s || strcmp(s, sub) || !t || strcmp(t, task)) continue;
        if (!deriv && (sp || ds)) continue;
        if (deriv && (!ds || strcmp(ds, "preproc") || (space && (!sp || strcmp(sp, space))))) continue;
        if (*n >= HY_BIDS_MAX_RUNS) {
            rc = hy_err(HY_EARG, "%s: more than %d runs", dir, HY_BIDS_MAX_RUNS);
            break;
        }
        candidate *k = &c[(*n)++];
        snprintf(k->path, sizeof k->path, "%s/%s", dir, e->d_name);
        snprintf(k->name, sizeof k->name, "%s", e->d_name);
        const char *ses = entity(&b, "ses"), *run = entity(&b, "run");
        snprintf(k->ses, sizeof k->ses, "%s", ses ? ses : "");
        k->run = run ? strtol(run, NULL, 10) : -1;
        k->b = b;
    }
    closedir(d);
    return rc;
}

// Every func folder of the subject: SUB/func and SUB/ses-*/func.
static int scan_subject(const char *root, const char *sub, const char *task, int deriv, const char *space, candidate *c,
                        int *n) {
    char sd[1024], fd[1300];
    snprintf(sd, sizeof sd, "%s/sub-%s", root, sub);
    if (!is_dir(sd)) return hy_err(HY_EIO, "%s: no such subject folder", sd);
    snprintf(fd, sizeof fd, "%s/func", sd);
    int rc = scan_func(fd, sub, task, deriv, space, c, n);
    DIR *d = opendir(sd);
    struct dirent *e;
    while (!rc && d && (e = readdir(d)))
        if (!strncmp(e->d_name, "ses-", 4)) {
            snprintf(fd, sizeof fd, "%s/%.200s/func", sd, e->d_name);
            rc = scan_func(fd, sub, task, deriv, space, c, n);
        }
    if (d) closedir(d);
    return rc;
}

// The events file of a run: same entities with _events.tsv next to the raw BOLD, else inherited
// from the subject/session folder or the top of the dataset.
static int find_events(const char *root, const char *sub, const char *task, const candidate *k, char *out, size_t cap) {
    char stem[600], sesdir[200] = "";
    raw_stem(&k->b, stem, sizeof stem);
    if (k->ses[0]) snprintf(sesdir, sizeof sesdir, "/ses-%s", k->ses);
    char tries[3][1400];
    snprintf(tries[0], sizeof tries[0], "%s/sub-%s%s/func/%s_events.tsv", root, sub, sesdir, stem);
    snprintf(tries[1], sizeof tries[1], "%s/sub-%s%s/sub-%s%s%s_task-%s_events.tsv", root, sub, sesdir, sub,
             k->ses[0] ? "_ses-" : "", k->ses, task);
    snprintf(tries[2], sizeof tries[2], "%s/task-%s_events.tsv", root, task);
    for (int i = 0; i < 3; i++)
        if (is_file(tries[i])) {
            if (strlen(tries[i]) >= cap) return hy_err(HY_EARG, "%s: path too long", tries[i]);
            snprintf(out, cap, "%s", tries[i]);
            return HY_OK;
        }
    return hy_err(HY_EIO, "%s: no events for this run (looked for %s, then %s, then %s)", k->path, tries[0], tries[1],
                  tries[2]);
}

// fMRIPrep's confounds of a run (desc-confounds_timeseries.tsv, or the older _regressors.tsv).
static int find_confounds(const candidate *k, char *out, size_t cap) {
    char stem[600], dir[1024];
    raw_stem(&k->b, stem, sizeof stem);
    snprintf(dir, sizeof dir, "%s", k->path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    char a[1700], b[1700];
    snprintf(a, sizeof a, "%s/%s_desc-confounds_timeseries.tsv", dir, stem);
    snprintf(b, sizeof b, "%s/%s_desc-confounds_regressors.tsv", dir, stem);
    const char *hit = is_file(a) ? a : is_file(b) ? b : NULL;
    if (!hit) return hy_err(HY_EIO, "%s: no confounds for this run (looked for %s)", k->path, a);
    if (strlen(hit) >= cap) return hy_err(HY_EARG, "%s: path too long", hit);
    snprintf(out, cap, "%s", hit);
    return HY_OK;
}

static void strip_prefix(char *dst, size_t cap, const char *label, const char *prefix) {
    size_t l = strlen(prefix);
    snprintf(dst, cap, "%s", strncmp(label, prefix, l) ? label : label + l);
}

// Finds the runs (raw or derivatives), then each run's events, confounds and the mask. Long
// because the raw and derivative cases share the search and differ only in a few steps.
int hy_bids_find(const char *root, const char *sub_in, const char *task_in, const char *deriv, const char *space,
                 hy_bids_runs *out) {
    memset(out, 0, sizeof *out);
    char sub[96], task[96];
    strip_prefix(sub, sizeof sub, sub_in, "sub-");
    strip_prefix(task, sizeof task, task_in, "task-");
    if (!sub[0] || !task[0] || strpbrk(sub, "_-/") || strpbrk(task, "_-/"))
        return hy_err(HY_EARG, "BIDS labels must be non-empty and free of '_', '-', '/' (sub '%s', task '%s')", sub_in, task_in);
    if (!is_dir(root)) return hy_err(HY_EIO, "%s: no such BIDS folder", root);
    if (deriv && !is_dir(deriv)) return hy_err(HY_EIO, "%s: no such derivatives folder", deriv);
    candidate *c = hy_calloc(HY_BIDS_MAX_RUNS, sizeof(candidate));
    if (!c) return HY_ENOMEM;
    int n = 0, rc = scan_subject(deriv ? deriv : root, sub, task, deriv != NULL, space, c, &n);
    if (!rc && n == 0)
        rc = hy_err(HY_EIO, "%s: no BOLD runs for sub-%s task-%s (looked for sub-%s[_ses-*]_task-%s[_...]%s_bold.nii[.gz] "
                            "in sub-%s[/ses-*]/func)", deriv ? deriv : root, sub, task, sub, task,
                    deriv ? (space ? "_space-<space>_desc-preproc" : "_desc-preproc") : "", sub);
    if (!rc && deriv && !space)
        for (int i = 1; i < n && !rc; i++) {
            const char *a = entity(&c[0].b, "space"), *b = entity(&c[i].b, "space");
            if ((a || b) && (!a || !b || strcmp(a, b)))
                rc = hy_err(HY_EARG, "%s: runs in several spaces (%s, %s); choose one with --space", deriv,
                            a ? a : "none", b ? b : "none");
        }
    if (!rc) qsort(c, (size_t)n, sizeof *c, cmp_candidate);
    for (int i = 0; i < n && !rc; i++) {
        snprintf(out->bold[i], sizeof out->bold[i], "%s", c[i].path);
        rc = find_events(root, sub, task, &c[i], out->events[i], sizeof out->events[i]);
        if (!rc && deriv) rc = find_confounds(&c[i], out->confounds[i], sizeof out->confounds[i]);
    }
    if (!rc && deriv) {
        // the first run's brain mask: ..._desc-preproc_bold -> ..._desc-brain_mask
        char m[1100];
        snprintf(m, sizeof m, "%s", c[0].path);
        char *at = strstr(m, "_desc-preproc_bold");
        if (at) {
            char tail[16];
            snprintf(tail, sizeof tail, "%s", at + strlen("_desc-preproc_bold"));
            snprintf(at, sizeof m - (size_t)(at - m), "_desc-brain_mask%s", tail);
            if (is_file(m) && strlen(m) < sizeof out->mask) snprintf(out->mask, sizeof out->mask, "%s", m);
        }
    }
    out->n_runs = rc ? 0 : n;
    free(c);
    return rc;
}
