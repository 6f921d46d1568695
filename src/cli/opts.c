// opts.c - the one option parser of the `hyper` commands (see include/cli/opts.h).
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "cli/opts.h"

// Options every command has; their destinations live here.
static int g_threads, g_quiet, g_help, g_version;
static const opt COMMON[] = {
    OPT_INT("threads", 0, &g_threads, "T", "threads (default: the CPUs this process may use, or $HY_THREADS)", 1,
            HY_MAX_THREADS),
    OPT_FLAG("quiet", 'q', &g_quiet, "no progress lines or notes on stderr (errors still print)"),
    OPT_FLAG("version", 0, &g_version, "print the version and the CPU kernels in use, then exit"),
    OPT_FLAG("help", 'h', &g_help, "print this help and exit"),
    OPT_END,
};

// --- strict number parsing ----------------------------------------------------------

int cli_parse_long(const char *what, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end) return hy_err(HY_EARG, "%s: '%s' is not an integer", what, s);
    if (errno == ERANGE || v < lo || v > hi)
        return hy_err(HY_EARG, "%s: '%s' is out of range (%ld..%ld)", what, s, lo, hi);
    *out = v;
    return HY_OK;
}

int cli_parse_double(const char *what, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end) return hy_err(HY_EARG, "%s: '%s' is not a number", what, s);
    if (isnan(v) || isinf(v)) return hy_err(HY_EARG, "%s: '%s' is not a finite number", what, s);
    // ERANGE with a finite result is an underflow (1e-320 -> a subnormal or 0): the value is
    // still the nearest double, so it is kept and the range check decides.
    if (errno == ERANGE && fabs(v) >= 1.0) return hy_err(HY_EARG, "%s: '%s' is too large", what, s);
    *out = v;
    return HY_OK;
}

int cli_parse_int_list(const char *what, const char *s, long lo, long hi, int *out, int max, int *n) {
    *n = 0;
    const char *p = s;
    char item[64];
    while (1) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == 0 || len >= sizeof item) return hy_err(HY_EARG, "%s: '%s' is not a list like 700,900", what, s);
        if (*n >= max) return hy_err(HY_EARG, "%s: more than %d values in '%s'", what, max, s);
        memcpy(item, p, len);
        item[len] = 0;
        long v;
        if (cli_parse_long(what, item, lo, hi, &v)) return HY_EARG;
        out[(*n)++] = (int)v;
        if (!c) return HY_OK;
        p = c + 1;
    }
}

// --- table lookup -------------------------------------------------------------------

static const opt *find_long(const opt *t, const char *name, size_t len) {
    for (; t->name; t++)
        if (t->type != OPT_T_SECTION && strlen(t->name) == len && !strncmp(t->name, name, len)) return t;
    return NULL;
}

static const opt *find_short(const opt *t, char c) {
    for (; t->name; t++)
        if (t->short_name == c && t->type != OPT_T_SECTION) return t;
    return NULL;
}

// Looks a spelling up in the command's table, then in the common options; follows aliases.
static const opt *lookup(const cli_command *cmd, const char *arg, size_t len, int is_short,
                         const opt **alias) {
    const opt *o = is_short ? find_short(cmd->opts, arg[0]) : find_long(cmd->opts, arg, len);
    if (!o) o = is_short ? find_short(COMMON, arg[0]) : find_long(COMMON, arg, len);
    *alias = NULL;
    if (o && o->type == OPT_T_ALIAS) {
        *alias = o;
        o = find_long(cmd->opts, o->alias_of, strlen(o->alias_of));
    }
    return o;
}

// "-g/--generator" or "--generator" for messages.
static const char *spelled(const opt *o, char *buf, size_t n) {
    if (o->short_name) snprintf(buf, n, "-%c/--%s", o->short_name, o->name);
    else snprintf(buf, n, "--%s", o->name);
    return buf;
}

// --- storing a value ----------------------------------------------------------------

static int check_range(const opt *o, const char *what, const char *val, double v) {
    int lo_ok = (o->flags & OPT_GT) ? v > o->lo : v >= o->lo;
    int hi_ok = (o->flags & OPT_LT) ? v < o->hi : v <= o->hi;
    if (o->lo == 0 && o->hi == 0) return HY_OK;  // no range given
    if (!lo_ok) return hy_err(HY_EARG, "%s: '%s' must be %s %g", what, val, (o->flags & OPT_GT) ? ">" : ">=", o->lo);
    if (!hi_ok) return hy_err(HY_EARG, "%s: '%s' must be %s %g", what, val, (o->flags & OPT_LT) ? "<" : "<=", o->hi);
    return HY_OK;
}

static int store(const opt *o, const char *what, const char *val) {
    long l;
    double d;
    switch (o->type) {
    case OPT_T_FLAG: *(int *)o->dest = 1; return HY_OK;
    case OPT_T_CLEAR: *(int *)o->dest = 0; return HY_OK;
    case OPT_T_INT:
    case OPT_T_LONG:
        if (cli_parse_long(what, val, (long)o->lo, (long)o->hi, &l)) return HY_EARG;
        if (o->type == OPT_T_INT) *(int *)o->dest = (int)l;
        else *(long *)o->dest = l;
        return HY_OK;
    case OPT_T_U64:
        if (cli_parse_long(what, val, (long)o->lo, (long)o->hi, &l)) return HY_EARG;
        *(uint64_t *)o->dest = (uint64_t)l;
        return HY_OK;
    case OPT_T_DOUBLE:
        if (cli_parse_double(what, val, &d) || check_range(o, what, val, d)) return HY_EARG;
        *(double *)o->dest = d;
        return HY_OK;
    case OPT_T_STR:
        if (!*val) return hy_err(HY_EARG, "%s: empty value", what);
        *(const char **)o->dest = val;
        return HY_OK;
    case OPT_T_CHOICE: {
        const char *p = o->choices;
        for (int k = 0; p && *p; k++) {
            size_t len = strcspn(p, "|");
            if (strlen(val) == len && !strncmp(p, val, len)) {
                *(int *)o->dest = k;
                return HY_OK;
            }
            p += len + (p[len] == '|');
        }
        return hy_err(HY_EARG, "%s: '%s' is not one of %s", what, val, o->choices);
    }
    case OPT_T_LIST: {
        cli_list *L = o->dest;
        if (L->n >= CLI_LIST_MAX) return hy_err(HY_EARG, "%s: given more than %d times", what, CLI_LIST_MAX);
        L->v[L->n++] = val;
        return HY_OK;
    }
    case OPT_T_FN: {
        int rc = o->fn(o->dest, val);
        // The callback's message names the problem; prefix the option when it does not.
        if (rc && strncmp(hy_errmsg(), "--", 2) && strncmp(hy_errmsg(), "-", 1)) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", hy_errmsg());
            return hy_err(HY_EARG, "%s: %s", what, msg);
        }
        return rc;
    }
    default: return hy_err(HY_EARG, "%s: internal: bad option type", what);
    }
}

static int takes_value(const opt *o) { return o->type != OPT_T_FLAG && o->type != OPT_T_CLEAR; }

// --- --help ---------------------------------------------------------------------------

#define HELP_COL 26  // column where help text starts

// " (default X)" from the destination, which holds the default while --help is printed.
static void print_default(FILE *f, const opt *o) {
    switch (o->type) {
    case OPT_T_INT: fprintf(f, " (default %d)", *(const int *)o->dest); break;
    case OPT_T_LONG: fprintf(f, " (default %ld)", *(const long *)o->dest); break;
    case OPT_T_U64: fprintf(f, " (default %llu)", (unsigned long long)*(const uint64_t *)o->dest); break;
    case OPT_T_DOUBLE: fprintf(f, " (default %g)", *(const double *)o->dest); break;
    case OPT_T_STR:
        if (*(const char *const *)o->dest) fprintf(f, " (default %s)", *(const char *const *)o->dest);
        break;
    case OPT_T_CHOICE: {
        const char *p = o->choices;
        for (int k = *(const int *)o->dest; k > 0 && p; k--) p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
        if (p) fprintf(f, " (default %.*s)", (int)strcspn(p, "|"), p);
        break;
    }
    default: break;
    }
}

static void print_row(FILE *f, const opt *o) {
    char spec[128];
    int n = o->short_name ? snprintf(spec, sizeof spec, "  -%c, --%s", o->short_name, o->name)
                          : snprintf(spec, sizeof spec, "  --%s", o->name);
    if (takes_value(o)) {
        const char *mv = o->metavar ? o->metavar : o->type == OPT_T_CHOICE ? o->choices : "X";
        snprintf(spec + n, sizeof spec - (size_t)n, " %s", mv);
    }
    fputs(spec, f);
    int col = (int)strlen(spec);
    if (col + 2 > HELP_COL) {
        fputc('\n', f);
        col = 0;
    }
    fprintf(f, "%*s", HELP_COL - col, "");
    for (const char *h = o->help ? o->help : ""; *h; h++) {
        fputc(*h, f);
        if (*h == '\n') fprintf(f, "%*s", HELP_COL, "");
    }
    if (o->flags & OPT_REQUIRED) fputs(" (required)", f);
    if (o->flags & OPT_DEF) print_default(f, o);
    fputc('\n', f);
}

static void print_help(const cli_command *cmd, FILE *f) {
    fprintf(f, "usage: hyper %s %s\n", cmd->name, cmd->usage);
    if (cmd->about) fprintf(f, "\n%s\n", cmd->about);
    int first = 1, n_alias = 0;
    for (const opt *o = cmd->opts; o->name; o++) {
        if (o->type == OPT_T_ALIAS) {
            n_alias++;
            continue;
        }
        if (o->type == OPT_T_SECTION) {
            fprintf(f, "\n%s:\n", o->help);
            first = 0;
            continue;
        }
        if (first) {
            fputs("\noptions:\n", f);
            first = 0;
        }
        if (!(o->flags & OPT_HIDDEN)) print_row(f, o);
    }
    fputs("\ncommon options:\n", f);
    for (const opt *o = COMMON; o->name; o++) print_row(f, o);
    if (n_alias) {
        fputs("\ndeprecated spellings, still accepted in this release:", f);
        for (const opt *o = cmd->opts; o->name; o++)
            if (o->type == OPT_T_ALIAS) {
                const opt *c = find_long(cmd->opts, o->alias_of, strlen(o->alias_of));
                char b1[96], b2[96];
                fprintf(f, "\n  %s (now %s)", spelled(o, b1, sizeof b1), c ? spelled(c, b2, sizeof b2) : o->alias_of);
            }
        fputc('\n', f);
    }
    if (cmd->epilog) fprintf(f, "\n%s\n", cmd->epilog);
}

// --- parsing --------------------------------------------------------------------------

int cli_usage_error(const cli_command *cmd, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "hyper %s: %s (see hyper %s --help)\n", cmd->name, msg, cmd->name);
    return 2;
}

const char *cli_peek(int argc, char **argv, const char *name, char short_name) {
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) break;
        if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, name, len)) {
            if (a[2 + len] == '=') return a + 3 + len;
            if (!a[2 + len] && i + 1 < argc) return argv[i + 1];
        }
        if (short_name && a[0] == '-' && a[1] == short_name && !a[2] && i + 1 < argc) return argv[i + 1];
    }
    return NULL;
}

const char *cli_version(void) {
#if defined(__AVX512F__)
    return "hyper " HY_VERSION " (built with AVX-512 kernels)";
#elif defined(__AVX2__)
    return "hyper " HY_VERSION " (built with AVX2 kernels)";
#else
    return "hyper " HY_VERSION " (generic kernels)";
#endif
}

// --threads, else $HY_THREADS (read as strictly as the option), else 0 = the default count.
static int apply_threads(const cli_command *cmd) {
    long n = g_threads;
    const char *v = getenv("HY_THREADS");
    if (!n && v && *v && cli_parse_long("HY_THREADS", v, 1, HY_MAX_THREADS, &n))
        return cli_usage_error(cmd, "%s", hy_errmsg());
    hy_set_threads((int)n);
    return CLI_RUN;
}

// One argument at argv[*i]: an option (and its value) or a positional.
static int parse_one(const cli_command *cmd, int argc, char **argv, int *i, cli_args *a, int *only_pos,
                     unsigned char *seen, const opt **notes, int *n_notes) {
    char *arg = argv[*i];
    if (*only_pos || arg[0] != '-' || !arg[1]) {
        a->pos[a->n_pos++] = arg;
        return CLI_RUN;
    }
    if (!strcmp(arg, "--")) {
        *only_pos = 1;
        return CLI_RUN;
    }
    int is_long = arg[1] == '-';
    const char *name = arg + (is_long ? 2 : 1);
    const char *eq = is_long ? strchr(name, '=') : NULL;
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const opt *alias, *o = lookup(cmd, name, is_long ? len : 1, !is_long, &alias);
    if (!o || (!is_long && name[1] && !takes_value(o)))
        return cli_usage_error(cmd, "unknown option '%s'", arg);
    char what[96];
    snprintf(what, sizeof what, "%s%.*s", is_long ? "--" : "-", (int)(is_long ? len : 1), name);
    const char *val = NULL;
    if (takes_value(o)) {
        if (eq) val = eq + 1;
        else if (!is_long && name[1]) val = name + 1;  // -n5
        else if (*i + 1 < argc) val = argv[++*i];
        else return cli_usage_error(cmd, "%s needs a value (%s)", what, o->metavar ? o->metavar : "X");
    } else if (eq) {
        return cli_usage_error(cmd, "%s takes no value", what);
    }
    if (store(o, what, val)) return cli_usage_error(cmd, "%s", hy_errmsg());
    for (int k = 0; cmd->opts[k].name && k < 256; k++)
        if (&cmd->opts[k] == o) seen[k] = 1;
    if (alias && *n_notes < 8) notes[(*n_notes)++] = alias;
    return CLI_RUN;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a) {
    g_threads = g_quiet = g_help = g_version = 0;
    // The positionals array lives until the next call (one per process in practice); a static
    // pointer keeps it reachable, so leak checkers do not report it.
    static char **pos_buf;
    free(pos_buf);
    pos_buf = a->pos = hy_calloc((size_t)argc + 1, sizeof(char *));
    a->n_pos = 0;
    if (!a->pos) return cli_usage_error(cmd, "out of memory");
    // --help wins over everything else on the line, even a bad option before it.
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(cmd, stdout);
            return 0;
        }
    unsigned char seen[256] = {0};
    const opt *notes[8];
    int n_notes = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(cmd, argc, argv, &i, a, &only_pos, seen, notes, &n_notes);
        if (rc != CLI_RUN) return rc;
    }
    if (g_version) {
        printf("%s\n", cli_version());
        return 0;
    }
    hy_set_quiet(g_quiet);
    for (int k = 0; k < n_notes && !g_quiet; k++) {
        const opt *c = find_long(cmd->opts, notes[k]->alias_of, strlen(notes[k]->alias_of));
        char b1[96], b2[96];
        fprintf(stderr, "hyper %s: note: %s is deprecated, use %s\n", cmd->name, spelled(notes[k], b1, sizeof b1),
                c ? spelled(c, b2, sizeof b2) : notes[k]->alias_of);
    }
    for (int k = 0; cmd->opts[k].name; k++)
        if ((cmd->opts[k].flags & OPT_REQUIRED) && !seen[k]) {
            char b[96];
            return cli_usage_error(cmd, "%s is required", spelled(&cmd->opts[k], b, sizeof b));
        }
    const char *pn = cmd->pos_name ? cmd->pos_name : "argument";
    if (a->n_pos < cmd->min_pos)
        return cli_usage_error(cmd, "needs %s%d %s%s", cmd->max_pos == cmd->min_pos ? "" : "at least ", cmd->min_pos,
                               pn, cmd->min_pos > 1 ? "s" : "");
    if (cmd->max_pos >= 0 && a->n_pos > cmd->max_pos)
        return cmd->max_pos ? cli_usage_error(cmd, "too many %ss ('%s')", pn, a->pos[cmd->max_pos])
                            : cli_usage_error(cmd, "unexpected argument '%s'", a->pos[0]);
    return apply_threads(cmd);
}
