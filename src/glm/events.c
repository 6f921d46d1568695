// events.c - BIDS events.tsv / confounds.tsv readers (see include/glm/events.h).
#include "glm/events.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

// --- TSV splitting -------------------------------------------------------------------

int hy_tsv_number(const char *s, double *out) {
    if (!*s) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

void hy_tsv_free(hy_tsv *t) {
    if (t->rows)
        for (int r = 0; r < t->n_rows; r++) free(t->rows[r]);
    free(t->rows);
    free(t->line);
    free(t->buf);
    memset(t, 0, sizeof *t);
}

int hy_tsv_column(const hy_tsv *t, const char *name) {
    for (int f = 0; f < t->n_fields; f++)
        if (!strcmp(t->rows[0][f], name)) return f;
    return -1;
}

// Splits the text into non-blank lines, each into tab-separated fields. Every row must have as
// many fields as the header (BIDS TSV); blank lines are skipped as pandas does.
int hy_tsv_parse(const char *name, const char *text, size_t len, hy_tsv *t) {
    memset(t, 0, sizeof *t);
    if (memchr(text, 0, len)) return hy_err(HY_EFORMAT, "%s: contains a NUL byte (not a text file)", name);
    t->buf = hy_malloc(len + 1);
    if (!t->buf) return HY_ENOMEM;
    memcpy(t->buf, text, len);
    t->buf[len] = 0;
    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++) n_lines += t->buf[i] == '\n';
    t->rows = hy_calloc(n_lines, sizeof *t->rows);
    t->line = hy_calloc(n_lines, sizeof *t->line);
    if (!t->rows || !t->line) {
        hy_tsv_free(t);
        return HY_ENOMEM;
    }
    char *p = t->buf;
    int lineno = 0;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        lineno++;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[--l] = 0;
        if (l > 0) {
            int nf = 1;
            for (char *q = p; *q; q++) nf += *q == '\t';
            if (t->n_rows == 0) t->n_fields = nf;
            else if (nf != t->n_fields) {
                int hf = t->n_fields;
                hy_tsv_free(t);
                return hy_err(HY_EFORMAT, "%s: line %d has %d tab-separated fields, the header has %d", name, lineno, nf, hf);
            }
            char **f = hy_malloc(sizeof(char *) * (size_t)nf);
            if (!f) {
                hy_tsv_free(t);
                return HY_ENOMEM;
            }
            int k = 0;
            f[k++] = p;
            for (char *q = p; *q; q++)
                if (*q == '\t') {
                    *q = 0;
                    f[k++] = q + 1;
                }
            t->line[t->n_rows] = lineno;
            t->rows[t->n_rows++] = f;
        }
        p = nl ? nl + 1 : NULL;
    }
    if (t->n_rows == 0) {
        hy_tsv_free(t);
        return hy_err(HY_EFORMAT, "%s: empty file (no header line)", name);
    }
    for (int a = 0; a < t->n_fields; a++) {
        if (!t->rows[0][a][0]) {
            hy_tsv_free(t);
            return hy_err(HY_EFORMAT, "%s: header column %d has an empty name", name, a + 1);
        }
        for (int b = 0; b < a; b++)
            if (!strcmp(t->rows[0][a], t->rows[0][b])) {
                char col[128];
                snprintf(col, sizeof col, "%s", t->rows[0][a]);
                hy_tsv_free(t);
                return hy_err(HY_EFORMAT, "%s: header names column '%s' twice", name, col);
            }
    }
    return HY_OK;
}

int hy_tsv_read(const char *path, hy_tsv *t) {
    uint8_t *data;
    size_t n;
    memset(t, 0, sizeof *t);
    int rc = hy_read_file(path, &data, &n, (size_t)1 << 30);
    if (rc) return rc;
    rc = hy_tsv_parse(path, (const char *)data, n, t);
    free(data);
    return rc;
}

// Lists the header's column names into buf (for "unknown column" messages).
static void list_columns(const hy_tsv *t, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = 0;
    for (int f = 0; f < t->n_fields && o + 8 < cap; f++) {
        int w = snprintf(buf + o, cap - o, "%s%s", f ? ", " : "", t->rows[0][f]);
        if (w < 0 || (size_t)w >= cap - o) {
            snprintf(buf + (cap > 4 ? cap - 4 : 0), 4, "...");
            return;
        }
        o += (size_t)w;
    }
}

// --- events ----------------------------------------------------------------------------

void hy_events_free(hy_events *ev) {
    if (ev->names)
        for (int i = 0; i < ev->n_types; i++) free(ev->names[i]);
    free(ev->names);
    free(ev->onset);
    free(ev->duration);
    free(ev->modulation);
    free(ev->type);
    memset(ev, 0, sizeof *ev);
}

typedef struct {
    const char *s;
    double v;
    int row;
} type_key;

static _Thread_local int numeric_mode_;  // qsort has no context argument; set just before each sort

static int cmp_type(const void *a, const void *b) {
    const type_key *x = a, *y = b;
    if (numeric_mode_) {
        if (x->v != y->v) return x->v < y->v ? -1 : 1;
    } else {
        int c = strcmp(x->s, y->s);
        if (c) return c;
    }
    return x->row - y->row;
}

typedef struct {
    int type, idx;
    double onset, dur;
} ev_key;

static int cmp_ev(const void *a, const void *b) {
    const ev_key *x = a, *y = b;
    if (x->type != y->type) return x->type - y->type;
    if (x->onset != y->onset) return x->onset < y->onset ? -1 : 1;
    if (x->dur != y->dur) return x->dur < y->dur ? -1 : 1;
    return x->idx - y->idx;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

// Reads the numeric field (row r, column c); n/a and non-numbers are errors naming line and column.
static int field_number(const char *name, const hy_tsv *t, int r, int c, double *v) {
    const char *s = t->rows[r][c];
    if (!strcmp(s, "n/a")) return hy_err(HY_EVALUE, "%s: line %d: %s is n/a", name, t->line[r], t->rows[0][c]);
    if (!hy_tsv_number(s, v))
        return hy_err(HY_EVALUE, "%s: line %d: %s '%.40s' is not a finite number", name, t->line[r], t->rows[0][c], s);
    return HY_OK;
}

// Columns of the events table (type_col names the condition column) and, per event row, its
// onset, duration, modulation (1 without that column) and condition key; *all_numeric says
// whether every condition value is a number (then conditions sort as numbers).
typedef struct {
    int on, du, ty, mo;
} ev_cols;

static int read_events(const char *name, const hy_tsv *t, const ev_cols *c, const char *type_col, double *on, double *du,
                       double *mo, type_key *keys, int *all_numeric) {
    int rc;
    *all_numeric = 1;
    for (int r = 1; r < t->n_rows; r++) {
        int i = r - 1;
        if ((rc = field_number(name, t, r, c->on, &on[i])) || (rc = field_number(name, t, r, c->du, &du[i]))) return rc;
        if (du[i] < 0) return hy_err(HY_EVALUE, "%s: line %d: negative duration %g", name, t->line[r], du[i]);
        mo[i] = 1;
        if (c->mo >= 0 && (rc = field_number(name, t, r, c->mo, &mo[i]))) return rc;
        const char *s = t->rows[r][c->ty];
        if (!*s || !strcmp(s, "n/a"))
            return hy_err(HY_EVALUE, "%s: line %d: %s is %s", name, t->line[r], type_col, *s ? "n/a" : "empty");
        keys[i].s = s;
        keys[i].row = i;
        if (!hy_tsv_number(s, &keys[i].v)) *all_numeric = 0;
    }
    return HY_OK;
}

// Condition order as np.unique over the column (numbers when pandas would read numbers):
// type[row] (nr) = the index of its condition, ev->names the conditions in order. Sorts keys.
static int condition_order(hy_events *ev, type_key *keys, int nr, int all_numeric, int *type) {
    numeric_mode_ = all_numeric;
    qsort(keys, (size_t)nr, sizeof *keys, cmp_type);
    int nt = 0;
    for (int i = 0; i < nr; i++) {
        int same = i > 0 && (all_numeric ? keys[i].v == keys[i - 1].v : !strcmp(keys[i].s, keys[i - 1].s));
        if (!same) nt++;
        type[keys[i].row] = nt - 1;
    }
    if (!(ev->names = hy_calloc((size_t)nt, sizeof(char *)))) return HY_ENOMEM;
    ev->n_types = nt;
    for (int i = 0, k = 0; i < nr; i++) {
        int same = i > 0 && (all_numeric ? keys[i].v == keys[i - 1].v : !strcmp(keys[i].s, keys[i - 1].s));
        if (same) continue;
        if (!(ev->names[k++] = strdup(keys[i].s))) return hy_err(HY_ENOMEM, "out of memory");
    }
    return HY_OK;
}

// Merges duplicate events (same condition, onset, duration) into the first appearance, their
// modulations summed, and stores the events left in file order. ek, first: nr scratch.
static int merge_events(hy_events *ev, const int *type, const double *on, const double *du, double *mo, int nr,
                        ev_key *ek, int *first) {
    for (int i = 0; i < nr; i++) ek[i] = (ev_key){type[i], i, on[i], du[i]};
    qsort(ek, (size_t)nr, sizeof *ek, cmp_ev);
    int nu = 0;
    for (int i = 0; i < nr; i++) {
        int dup = i > 0 && ek[i].type == ek[i - 1].type && ek[i].onset == ek[i - 1].onset && ek[i].dur == ek[i - 1].dur;
        if (dup) mo[first[nu - 1]] += mo[ek[i].idx];
        else first[nu++] = ek[i].idx;
    }
    qsort(first, (size_t)nu, sizeof(int), cmp_int);
    ev->n = nu;
    ev->onset = hy_malloc(sizeof(double) * nu);
    ev->duration = hy_malloc(sizeof(double) * nu);
    ev->modulation = hy_malloc(sizeof(double) * nu);
    ev->type = hy_malloc(sizeof(int) * nu);
    if (!ev->onset || !ev->duration || !ev->modulation || !ev->type) return HY_ENOMEM;
    for (int k = 0; k < nu; k++) {
        int i = first[k];
        ev->onset[k] = on[i];
        ev->duration[k] = du[i];
        ev->modulation[k] = mo[i];
        ev->type[k] = type[i];
    }
    return HY_OK;
}

// The body of hy_events_parse after the TSV split: columns, values, condition order, merging.
static int events_from_tsv(const char *name, const hy_tsv *t, const char *type_col, hy_events *ev) {
    char cols[512];
    ev_cols c = {hy_tsv_column(t, "onset"), hy_tsv_column(t, "duration"), hy_tsv_column(t, type_col),
                 hy_tsv_column(t, "modulation")};
    const char *missing = c.on < 0 ? "onset" : c.du < 0 ? "duration" : c.ty < 0 ? type_col : NULL;
    if (missing) {
        list_columns(t, cols, sizeof cols);
        return hy_err(HY_EFORMAT, "%s: no '%s' column (columns: %s)", name, missing, cols);
    }
    int nr = t->n_rows - 1;
    if (nr < 1) return hy_err(HY_EFORMAT, "%s: no events (only a header line)", name);
    ev->n_rows = nr;
    ev->has_modulation = c.mo >= 0;
    double *on = hy_malloc(sizeof(double) * nr), *du = hy_malloc(sizeof(double) * nr), *mo = hy_malloc(sizeof(double) * nr);
    type_key *keys = hy_malloc(sizeof(type_key) * nr);
    int *type = hy_malloc(sizeof(int) * nr), *first = hy_malloc(sizeof(int) * nr), all_numeric;
    ev_key *ek = hy_malloc(sizeof(ev_key) * nr);
    int rc = HY_ENOMEM;
    if (on && du && mo && keys && type && ek && first &&
        !(rc = read_events(name, t, &c, type_col, on, du, mo, keys, &all_numeric)) &&
        !(rc = condition_order(ev, keys, nr, all_numeric, type)))
        rc = merge_events(ev, type, on, du, mo, nr, ek, first);
    free(on);
    free(du);
    free(mo);
    free(keys);
    free(type);
    free(ek);
    free(first);
    return rc;
}

int hy_events_parse(const char *name, const char *text, size_t len, const char *type_col, hy_events *ev) {
    memset(ev, 0, sizeof *ev);
    hy_tsv t;
    int rc = hy_tsv_parse(name, text, len, &t);
    if (rc) return rc;
    rc = events_from_tsv(name, &t, type_col ? type_col : "trial_type", ev);
    hy_tsv_free(&t);
    if (rc) hy_events_free(ev);
    return rc;
}

int hy_events_read(const char *path, const char *type_col, hy_events *ev) {
    uint8_t *data;
    size_t n;
    memset(ev, 0, sizeof *ev);
    int rc = hy_read_file(path, &data, &n, (size_t)1 << 30);
    if (rc) return rc;
    rc = hy_events_parse(path, (const char *)data, n, type_col, ev);
    free(data);
    return rc;
}

// --- confounds -------------------------------------------------------------------------

void hy_confounds_free(hy_confounds *c) {
    if (c->names)
        for (int i = 0; i < c->n_cols; i++) free(c->names[i]);
    free(c->names);
    free(c->x);
    memset(c, 0, sizeof *c);
}

// sel (*ns) = the columns asked for: all, or the comma list in its order (each once).
static int select_columns(const char *name, const hy_tsv *t, const char *columns, int *sel, int *ns) {
    char cols[512];
    *ns = 0;
    if (!columns) {
        for (int f = 0; f < t->n_fields; f++) sel[(*ns)++] = f;
        return HY_OK;
    }
    const char *p = columns;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char want[256];
        if (l == 0 || l >= sizeof want) return hy_err(HY_EARG, "%s: bad confound column list '%s'", name, columns);
        memcpy(want, p, l);
        want[l] = 0;
        int f = hy_tsv_column(t, want);
        if (f < 0) {
            list_columns(t, cols, sizeof cols);
            return hy_err(HY_EFORMAT, "%s: no confound column '%s' (columns: %s)", name, want, cols);
        }
        for (int k = 0; k < *ns; k++)
            if (sel[k] == f) return hy_err(HY_EARG, "%s: confound column '%s' asked for twice", name, want);
        if (*ns >= t->n_fields) break;
        sel[(*ns)++] = f;
        p = e ? e + 1 : p + l;
    }
    return HY_OK;
}

// Column k of c->x (n_rows, n_cols) from table column f; n/a is an error, or with fill_mean
// the mean of the column's other rows (counted in c->n_filled).
static int read_confound(const char *name, const hy_tsv *t, int f, int k, int fill_mean, hy_confounds *c) {
    int nr = c->n_rows, ns = c->n_cols, n_na = 0;
    double sum = 0;
    for (int r = 1; r <= nr; r++) {
        const char *s = t->rows[r][f];
        double v;
        if (!strcmp(s, "n/a")) {
            if (!fill_mean)
                return hy_err(HY_EVALUE, "%s: line %d: confound '%s' is n/a (use --confounds-fill mean to replace n/a by the column mean)",
                              name, t->line[r], t->rows[0][f]);
            n_na++;
            v = NAN;
        } else if (!hy_tsv_number(s, &v)) {
            return hy_err(HY_EVALUE, "%s: line %d: confound '%s' value '%.40s' is not a finite number", name, t->line[r],
                          t->rows[0][f], s);
        } else {
            sum += v;
        }
        c->x[(size_t)(r - 1) * ns + k] = v;
    }
    if (n_na == nr) return hy_err(HY_EVALUE, "%s: confound '%s' is n/a in every row", name, t->rows[0][f]);
    if (n_na) {
        double mean = sum / (nr - n_na);
        for (int r = 0; r < nr; r++)
            if (isnan(c->x[(size_t)r * ns + k])) c->x[(size_t)r * ns + k] = mean;
        c->n_filled += n_na;
    }
    return HY_OK;
}

// Picks the columns (all, or the comma list in its order), reads the values, fills n/a.
static int confounds_from_tsv(const char *name, const hy_tsv *t, const char *columns, int fill_mean, hy_confounds *c) {
    int *sel = hy_malloc(sizeof(int) * (size_t)t->n_fields * 2 + sizeof(int));
    if (!sel) return HY_ENOMEM;
    int ns, rc = select_columns(name, t, columns, sel, &ns), nr = t->n_rows - 1;
    if (!rc && nr < 1) rc = hy_err(HY_EFORMAT, "%s: no rows (only a header line)", name);
    if (!rc) {
        c->n_rows = nr;
        c->n_cols = ns;
        c->names = hy_calloc((size_t)ns, sizeof(char *));
        c->x = hy_malloc(sizeof(double) * (size_t)nr * ns + 1);
        if (!c->names || !c->x) rc = HY_ENOMEM;
    }
    for (int k = 0; k < ns && !rc; k++)
        if (!(c->names[k] = strdup(t->rows[0][sel[k]]))) rc = hy_err(HY_ENOMEM, "out of memory");
    for (int k = 0; k < ns && !rc; k++) rc = read_confound(name, t, sel[k], k, fill_mean, c);
    free(sel);
    return rc;
}

int hy_confounds_parse(const char *name, const char *text, size_t len, const char *columns, int fill_mean,
                       hy_confounds *c) {
    memset(c, 0, sizeof *c);
    hy_tsv t;
    int rc = hy_tsv_parse(name, text, len, &t);
    if (rc) return rc;
    rc = confounds_from_tsv(name, &t, columns, fill_mean, c);
    hy_tsv_free(&t);
    if (rc) hy_confounds_free(c);
    return rc;
}

int hy_confounds_read(const char *path, const char *columns, int fill_mean, hy_confounds *c) {
    uint8_t *data;
    size_t n;
    memset(c, 0, sizeof *c);
    int rc = hy_read_file(path, &data, &n, (size_t)1 << 30);
    if (rc) return rc;
    rc = hy_confounds_parse(path, (const char *)data, n, columns, fill_mean, c);
    free(data);
    return rc;
}
