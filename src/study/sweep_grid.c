// sweep_grid.c - the grid of a sweep (include/study/sweep.h): defaults, model specs and their
// run names, the ordered run list with its trainings (groups) and seeds.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "study/sweep.h"

void hy_sweep_defaults(sweep_opts *o) {
    memset(o, 0, sizeof *o);
    // the study's grid: model 0 (dense + bias), model 1 (no bias) and three nonlinear nets:
    // one hidden ReLU layer (the plainest "model 2"), the same with a saturating tanh, and a
    // deeper sigmoid net with dropout; 4 epoch counts; batch 30; HYPER's recipe
    hy_sweep_parse_models(o, "linear,linear-nobias,mlp:hidden=512,mlp:hidden=512:act=tanh,"
                             "mlp:hidden=512x512:act=sigmoid:dropout=0.2", 0);
    hy_sweep_parse_models(o, "ols,ridge,lasso", 1);
    const int epochs[4] = {700, 900, 1200, 1500};
    memcpy(o->epochs, epochs, sizeof epochs);
    o->n_epochs = 4;
    o->batches[0] = 30;
    o->n_batches = 1;
    o->shard_i = o->shard_n = 1;
    o->recipe = DEC_RECIPE_HYPER;
    o->seed = 1;
}

// "1024x512" -> hidden widths.
static int parse_widths(const char *spec, const char *v, sweep_model *m) {
    m->n_hidden = 0;
    for (const char *p = v; *p;) {
        char *end;
        long w = strtol(p, &end, 10);
        if (end == p || w < 1 || w > 1000000 || (*end && (*end != 'x' || !end[1])) || m->n_hidden == DEC_MAX_LAYERS - 1)
            return hy_err(HY_EARG, "model '%s': hidden=%s is not widths like 1024 or 2048x512 (at most %d layers)", spec,
                          v, DEC_MAX_LAYERS - 1);
        m->hidden[m->n_hidden++] = (int)w;
        p = *end ? end + 1 : end;
    }
    return m->n_hidden ? HY_OK : hy_err(HY_EARG, "model '%s': hidden= is empty", spec);
}

static int parse_number(const char *spec, const char *key, const char *v, double lo, double hi, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x) || x < lo || x > hi)
        return hy_err(HY_EARG, "model '%s': %s=%s is not a number in [%g, %g]", spec, key, v, lo, hi);
    *out = x;
    return HY_OK;
}

// Which kinds a setting applies to (a bit per dec_kind).
#define KB(k) (1u << (k))
static unsigned setting_kinds(const char *k) {
    static const struct {
        const char *key;
        unsigned kinds;
    } T[] = {
        {"hidden", KB(DEC_MLP)},
        {"act", KB(DEC_MLP)},
        {"dropout", KB(DEC_MLP)},
        {"slope", KB(DEC_MLP)},
        {"skip", KB(DEC_MLP)},
        {"wd", KB(DEC_LINEAR) | KB(DEC_LINEAR_NOBIAS) | KB(DEC_MLP)},
        {"lr", KB(DEC_LINEAR) | KB(DEC_LINEAR_NOBIAS) | KB(DEC_MLP)},
        {"loss", KB(DEC_LINEAR) | KB(DEC_LINEAR_NOBIAS) | KB(DEC_MLP)},
        {"kernel", KB(DEC_KERNEL_RIDGE)},
        {"gamma", KB(DEC_KERNEL_RIDGE)},
        {"gammas", KB(DEC_KERNEL_RIDGE)},
        {"degree", KB(DEC_KERNEL_RIDGE)},
        {"coef0", KB(DEC_KERNEL_RIDGE)},
        {"components", KB(DEC_PLS)},
        {"cv", KB(DEC_RIDGE) | KB(DEC_KERNEL_RIDGE) | KB(DEC_PLS) | KB(DEC_LASSO) | KB(DEC_ELASTICNET)},
        {"alpha", KB(DEC_RIDGE) | KB(DEC_KERNEL_RIDGE) | KB(DEC_LASSO) | KB(DEC_ELASTICNET)},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(T[i].key, k)) return T[i].kinds;
    return 0;
}

static int parse_int(const char *spec, const char *key, const char *v, long lo, long hi, int *out) {
    double x;
    int r = parse_number(spec, key, v, (double)lo, (double)hi, &x);
    if (!r && x != floor(x)) r = hy_err(HY_EARG, "model '%s': %s=%s is not an integer", spec, key, v);
    if (!r) *out = (int)x;
    return r;
}

// One "key=value" setting of spec; appends its part of the run name.
static int parse_setting(const char *spec, char *kv, sweep_model *m, char *name, size_t cap) {
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv || !eq[1]) return hy_err(HY_EARG, "model '%s': '%s' is not key=value", spec, kv);
    *eq = 0;
    const char *k = kv, *v = eq + 1;
    unsigned kinds = setting_kinds(k);
    if (!kinds)
        return hy_err(HY_EARG, "model '%s': unknown setting '%s' (hidden, act, dropout, slope, wd, lr, loss, skip, "
                      "kernel, gamma, gammas, degree, coef0, components, cv, alpha)", spec, k);
    if (!(kinds & KB(m->kind))) {
        if (kinds == KB(DEC_MLP))
            return hy_err(HY_EARG, "model '%s': %s= is for mlp (%s has no hidden layers)", spec, k,
                          hy_dec_kind(m->kind)->name);
        return hy_err(HY_EARG, "model '%s': %s= does not apply to %s", spec, k, hy_dec_kind(m->kind)->name);
    }
    int r = HY_OK;
    size_t at = strlen(name);
    if (!strcmp(k, "hidden")) {
        if (!(r = parse_widths(spec, v, m))) snprintf(name + at, cap - at, "-h%s", v);
    } else if (!strcmp(k, "act")) {
        if (hy_dec_act_parse(v, &m->act))
            r = hy_err(HY_EARG, "model '%s': unknown activation '%s' (%s)", spec, v, hy_dec_act_names());
        else snprintf(name + at, cap - at, "-%s", v);
    } else if (!strcmp(k, "dropout")) {
        if (!(r = parse_number(spec, k, v, 0, 0.99, &m->dropout))) snprintf(name + at, cap - at, "-do%g", m->dropout);
    } else if (!strcmp(k, "slope")) {
        if (!(r = parse_number(spec, k, v, 0, 1e6, &m->slope))) snprintf(name + at, cap - at, "-ls%g", m->slope);
    } else if (!strcmp(k, "wd")) {
        if (!(r = parse_number(spec, k, v, 0, 1e6, &m->wd))) snprintf(name + at, cap - at, "-wd%g", m->wd);
    } else if (!strcmp(k, "lr")) {
        if (!(r = parse_number(spec, k, v, 1e-30, 1e6, &m->lr))) snprintf(name + at, cap - at, "-lr%g", m->lr);
    } else if (!strcmp(k, "loss")) {
        dec_loss l;
        if (hy_dec_loss_parse(v, &l)) r = hy_err(HY_EARG, "model '%s': unknown loss '%s' (l2, cosine)", spec, v);
        else m->loss = l, snprintf(name + at, cap - at, "%s", l == DEC_LOSS_COSINE ? "-cos" : "-l2");
    } else if (!strcmp(k, "skip")) {
        dec_skip sk;
        if (hy_dec_skip_parse(v, &sk)) r = hy_err(HY_EARG, "model '%s': unknown skip '%s' (none, ridge)", spec, v);
        else m->skip = sk, snprintf(name + at, cap - at, "%s", sk == DEC_SKIP_RIDGE ? "-skip" : "-noskip");
    } else if (!strcmp(k, "kernel")) {
        if (hy_kr_kernel_parse(v, &m->kernel)) r = hy_err(HY_EARG, "model '%s': unknown kernel '%s' (linear, rbf, poly)", spec, v);
        else snprintf(name + at, cap - at, "-%s", v);
    } else if (!strcmp(k, "gamma")) {
        if (!(r = parse_number(spec, k, v, 1e-300, 1e300, &m->gamma))) snprintf(name + at, cap - at, "-g%g", m->gamma);
    } else if (!strcmp(k, "gammas")) {
        if (!(r = parse_int(spec, k, v, 1, 1000, &m->n_gammas))) snprintf(name + at, cap - at, "-gs%d", m->n_gammas);
    } else if (!strcmp(k, "degree")) {
        if (!(r = parse_int(spec, k, v, 1, 1000, &m->degree))) snprintf(name + at, cap - at, "-deg%d", m->degree);
    } else if (!strcmp(k, "coef0")) {
        if (!(r = parse_number(spec, k, v, -1e300, 1e300, &m->coef0))) snprintf(name + at, cap - at, "-c0%g", m->coef0);
    } else if (!strcmp(k, "components")) {
        if (!(r = parse_int(spec, k, v, 1, 1000000, &m->components))) snprintf(name + at, cap - at, "-k%d", m->components);
    } else if (!strcmp(k, "cv")) {
        if (!(r = parse_int(spec, k, v, 0, 1000000, &m->cv))) snprintf(name + at, cap - at, "-cv%d", m->cv);
    } else {  // alpha
        if (!(r = parse_number(spec, k, v, 1e-300, 1e300, &m->alpha))) snprintf(name + at, cap - at, "-a%g", m->alpha);
    }
    return r;
}

int hy_sweep_parse_spec(const char *spec, int closed, sweep_model *m) {
    memset(m, 0, sizeof *m);
    m->act = m->loss = m->skip = m->kernel = m->cv = -1;
    m->dropout = m->slope = m->wd = m->lr = m->gamma = m->coef0 = m->alpha = NAN;
    if (strlen(spec) >= sizeof m->spec) return hy_err(HY_EARG, "model '%.40s...': spec too long", spec);
    snprintf(m->spec, sizeof m->spec, "%s", spec);
    char buf[128], *save = NULL;
    snprintf(buf, sizeof buf, "%s", spec);
    char *tok = strtok_r(buf, ":", &save);
    if (!tok || hy_dec_kind_parse(tok, &m->kind))
        return hy_err(HY_EARG, "model '%s': unknown decoder model '%s' (%s)", spec, tok ? tok : "", hy_dec_kind_names());
    const dec_kind_info *k = hy_dec_kind(m->kind);
    if (closed == k->iterative)
        return hy_err(HY_EARG, "model '%s': %s is %s, listed with the %s models", spec, k->name,
                      k->iterative ? "iterative" : "closed-form", closed ? "closed-form" : "iterative");
    snprintf(m->name, sizeof m->name, "%s", k->name);
    for (tok = strtok_r(NULL, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        int r = parse_setting(spec, tok, m, m->name, sizeof m->name);
        if (r) return r;
    }
    if (strchr(m->name, '_') || strlen(m->name) >= sizeof m->name - 1)
        return hy_err(HY_EARG, "model '%s': makes the run name '%s' (too long or with '_')", spec, m->name);
    return HY_OK;
}

int hy_sweep_parse_models(sweep_opts *o, const char *list, int closed) {
    sweep_model *dst = closed ? o->closed : o->models;
    int n = 0, r;
    char buf[2048], *save = NULL;
    if (strlen(list) >= sizeof buf) return hy_err(HY_EARG, "model list too long");
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == SWEEP_MAX_MODELS) return hy_err(HY_EARG, "too many models (at most %d)", SWEEP_MAX_MODELS);
        if ((r = hy_sweep_parse_spec(tok, closed, &dst[n]))) return r;
        for (int j = 0; j < n; j++)
            if (!strcmp(dst[j].name, dst[n].name))
                return hy_err(HY_EARG, "models '%s' and '%s' have the same run name '%s'", dst[j].spec, tok,
                              dst[n].name);
        n++;
    }
    if (closed) o->n_closed = n;
    else o->n_models = n;
    return HY_OK;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

void hy_sweep_sort_epochs(sweep_opts *o) {
    qsort(o->epochs, (size_t)o->n_epochs, sizeof(int), cmp_int);
    int k = 0;
    for (int i = 0; i < o->n_epochs; i++)
        if (!k || o->epochs[i] != o->epochs[k - 1]) o->epochs[k++] = o->epochs[i];
    o->n_epochs = k;
}

void hy_sweep_model_opts(const sweep_opts *o, const sweep_model *m, dec_opts *opts) {
    hy_dec_opts_default(opts, m->kind);
    if (hy_dec_kind(m->kind)->iterative) hy_dec_opts_recipe(opts, o->recipe);
    opts->quiet = 1;
    opts->zscore = o->zscore;
    if (o->lr > 0) opts->lr = o->lr;
    if (o->mlp_hidden > 0 && m->kind == DEC_MLP) opts->hidden[0] = o->mlp_hidden, opts->n_hidden = 1;
    if (m->n_hidden) {
        opts->n_hidden = m->n_hidden;
        memcpy(opts->hidden, m->hidden, sizeof m->hidden);
    }
    if (m->act >= 0) opts->act = m->act;
    if (!isnan(m->dropout)) opts->dropout = m->dropout;
    if (!isnan(m->slope)) opts->leaky_slope = m->slope;
    if (!isnan(m->wd)) opts->weight_decay = m->wd;
    if (!isnan(m->lr)) opts->lr = m->lr;
    if (m->loss >= 0) opts->loss = (dec_loss)m->loss;
    if (m->skip >= 0) opts->skip = (dec_skip)m->skip;
    if (m->kernel >= 0) opts->kernel = m->kernel;
    if (m->cv >= 0) opts->cv_folds = m->cv;
    if (m->n_gammas) opts->n_gammas = m->n_gammas;
    if (m->degree) opts->degree = m->degree;
    if (m->components) opts->components = m->components;
    if (!isnan(m->gamma)) opts->gamma = m->gamma;
    if (!isnan(m->coef0)) opts->coef0 = m->coef0;
    if (!isnan(m->alpha)) opts->fixed_alpha = m->alpha;
}

int hy_sweep_runs(const sweep_opts *o, sweep_run *runs, int max) {
    int k = 0, group = 0, n_seeds = o->n_seeds ? o->n_seeds : 1;
    const long total = (long)o->n_models * o->n_batches * n_seeds * o->n_epochs + o->n_closed;
    if (total > max)  // never a silent cut: the closed-form models come last and would be the ones dropped
        return hy_err(HY_EARG, "the grid has %ld runs (%d models x %d batch sizes x %d seeds x %d epoch counts + %d "
                      "closed-form), more than the %d one sweep holds; split it over several sweeps", total,
                      o->n_models, o->n_batches, n_seeds, o->n_epochs, o->n_closed, max);
    if (!runs) return (int)total;
    for (int m = 0; m < o->n_models; m++)
        for (int b = 0; b < o->n_batches; b++)
            for (int s = 0; s < n_seeds; s++, group++)
                for (int e = 0; e < o->n_epochs && k < max; e++, k++) {
                    sweep_run *r = &runs[k];
                    memset(r, 0, sizeof *r);
                    r->model = &o->models[m];
                    r->epochs = o->epochs[e];
                    r->batch = o->batches[b];
                    r->seed = o->n_seeds ? o->seeds[s] : o->seed;
                    r->group = group;
                    snprintf(r->config, sizeof r->config, "%s_%d_%d", r->model->name, r->epochs, r->batch);
                    if (o->n_seeds) snprintf(r->name, sizeof r->name, "%s_s%llu", r->config, (unsigned long long)r->seed);
                    else snprintf(r->name, sizeof r->name, "%s", r->config);
                }
    for (int m = 0; m < o->n_closed && k < max; m++, k++, group++) {
        sweep_run *r = &runs[k];
        memset(r, 0, sizeof *r);
        r->model = &o->closed[m];
        r->group = group;
        snprintf(r->name, sizeof r->name, "%s", r->model->name);
        snprintf(r->config, sizeof r->config, "%s", r->model->name);
    }
    return k;
}
