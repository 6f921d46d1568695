// sweep_eta.c - the sweep's ETA from the work left (see include/study/sweep_eta.h).
#include "study/sweep_eta.h"

#include <stdio.h>
#include <string.h>

#include "base/common.h"

void hy_sweep_eta_add(sweep_eta *t, const sweep_model *m, int batch, int epochs, int n_eval, double macs_per_epoch) {
    if (t->n_groups >= SWEEP_MAX_RUNS) return;
    int i = t->n_groups++;
    t->model[i] = m;
    t->batch[i] = batch;
    t->epochs[i] = epochs;
    t->macs[i] = macs_per_epoch;
    t->n_eval[i] = n_eval;
    t->evals_left += n_eval;
}

void hy_sweep_eta_skip(sweep_eta *t, double now) {
    if (t->g >= t->n_groups) return;
    t->evals_left -= t->n_eval[t->g];
    t->g++;
    t->g_epoch = 0;
    t->g_eval_seconds = 0;
    t->g_t0 = now;
}

double hy_sweep_eta_macs(const sweep_opts *o, const sweep_model *m, int n_train, int v, int d) {
    dec_opts op;
    hy_sweep_model_opts(o, m, &op);
    double macs = 0, in = v;
    int nh = m->kind == DEC_MLP ? op.n_hidden : 0;
    for (int l = 0; l < nh; l++) macs += in * op.hidden[l], in = op.hidden[l];
    return (double)n_train * (macs + in * d);
}

void hy_sweep_eta_start(sweep_eta *t, double now) { t->t0 = t->g_t0 = now; }
void hy_sweep_eta_epoch(sweep_eta *t, int epoch) { t->g_epoch = epoch; }

void hy_sweep_eta_eval(sweep_eta *t, double seconds) {
    t->eval_seconds += seconds;
    t->n_evals++;
    t->evals_left--;
    t->g_eval_seconds += seconds;
}

static int seen_index(const sweep_eta *t, const sweep_model *m, int batch) {
    for (int k = 0; k < t->n_seen; k++)
        if (t->seen[k].model == m && t->seen[k].batch == batch) return k;
    return -1;
}

void hy_sweep_eta_done(sweep_eta *t, double now) {
    if (t->g >= t->n_groups) return;
    int g = t->g, k = seen_index(t, t->model[g], t->batch[g]);
    double sec = now - t->g_t0 - t->g_eval_seconds, units = t->epochs[g] ? t->epochs[g] : 1;
    if (k < 0 && t->n_seen < SWEEP_ETA_MAX_SEEN) {
        k = t->n_seen++;
        t->seen[k] = (sweep_cost_seen){t->model[g], t->batch[g], 0, 0};
    }
    if (k >= 0) t->seen[k].seconds += sec, t->seen[k].units += units;
    if (t->epochs[g]) {
        double w = t->macs[g] * units;
        t->s_per_mac = (t->s_per_mac * t->macs_seen + sec) / (t->macs_seen + w);
        t->macs_seen += w;
    } else {
        t->fit_seconds += sec;
        t->n_fits++;
    }
    t->g++;
    t->g_epoch = 0;
    t->g_eval_seconds = 0;
    t->g_t0 = now;
}

// Training seconds of training i (not started), given the seconds per multiply-add-epoch of
// iterative training (s_per_mac < 0: none measured); < 0 when nothing comparable was measured.
static double train_estimate(const sweep_eta *t, int i, double s_per_mac) {
    int k = seen_index(t, t->model[i], t->batch[i]);
    if (k >= 0) return t->seen[k].seconds / t->seen[k].units * (t->epochs[i] ? t->epochs[i] : 1);
    if (!t->epochs[i]) return t->n_fits ? t->fit_seconds / t->n_fits : -1;
    return s_per_mac >= 0 ? s_per_mac * t->macs[i] * t->epochs[i] : -1;
}

double hy_sweep_eta_left(const sweep_eta *t, double now) {
    double left = 0, s_per_mac = t->macs_seen > 0 ? t->s_per_mac : -1;
    int g = t->g;
    if (g < t->n_groups && t->epochs[g] && t->g_epoch > 0) {  // the running training, by its own epochs
        double per_epoch = (now - t->g_t0 - t->g_eval_seconds) / t->g_epoch;
        left += per_epoch * (t->epochs[g] - t->g_epoch);
        if (s_per_mac < 0 && t->macs[g] > 0) s_per_mac = per_epoch / t->macs[g];  // the first rate seen
        g++;
    }
    for (int i = g; i < t->n_groups; i++) {
        double e = train_estimate(t, i, s_per_mac);
        if (e < 0) return -1;
        left += e;
    }
    if (t->evals_left > 0) {
        if (!t->n_evals) return -1;
        left += t->evals_left * t->eval_seconds / t->n_evals;
    }
    return left;
}

double hy_sweep_eta_fraction(const sweep_eta *t, double now) {
    if (t->n_groups == 0 || t->g >= t->n_groups) return 1;
    double el = now - t->t0, left = hy_sweep_eta_left(t, now);
    if (left >= 0) return el + left > 0 ? el / (el + left) : 0;
    double in_g = t->epochs[t->g] ? (double)t->g_epoch / t->epochs[t->g] : 0;  // trainings done
    return (t->g + in_g) / t->n_groups;
}

void hy_sweep_eta_report(const sweep_eta *t, double now, int last) {
    char label[256];
    int g = t->g;
    if (last || g >= t->n_groups) snprintf(label, sizeof label, "sweep: %d training(s)", t->n_groups);
    else if (t->epochs[g])
        snprintf(label, sizeof label, "sweep: training %d/%d (%s, epoch %d/%d)", g + 1, t->n_groups, t->model[g]->name,
                 t->g_epoch, t->epochs[g]);
    else snprintf(label, sizeof label, "sweep: training %d/%d (%s)", g + 1, t->n_groups, t->model[g]->name);
    hy_progress_eta(label, last ? 1 : hy_sweep_eta_fraction(t, now), last ? 0 : hy_sweep_eta_left(t, now), last, t->t0);
}
