// events.h - BIDS events.tsv and confounds.tsv readers for the first-level GLM.
//
// Both are tab-separated text with a header line (BIDS: UTF-8, "\t" between fields, "n/a" for a
// missing value; a trailing "\r" per line and a final empty line are accepted).
//
// events.tsv: columns `onset` and `duration` (seconds) are required, the condition column
// (`trial_type`, or the one named by the caller) is required, `modulation` is optional (the
// event's amplitude, 1 when absent). Other columns are ignored, as nilearn does and BIDS allows
// (stim_file, response_time, ...). Refused with a one-line message naming the file and line:
// a missing required column, a non-numeric or n/a onset/duration/modulation, NaN/Inf, a negative
// duration, an n/a or empty condition, rows with the wrong number of fields. Events with the same
// condition, onset and duration are merged into one with the modulations summed (nilearn's
// handle_modulation_of_duplicate_events). Conditions are ordered like nilearn's np.unique over
// the column: numerically when every value is a number (pandas reads the column as numbers),
// otherwise by byte order of the UTF-8 text (code-point order).
//
// confounds.tsv: one row per volume, numeric columns. All columns are used unless a comma list
// of names is given (an unknown name is an error that lists the file's columns). "n/a" is refused
// unless fill_mean, which replaces it by the mean of the column's other values (fMRIPrep leaves
// n/a in the first row of derivative columns).
#ifndef HY_EVENTS_H
#define HY_EVENTS_H

#include <stddef.h>

typedef struct {
    int n;                  // events after merging duplicates
    int n_rows;             // data rows in the file
    double *onset;          // (n) seconds from the first volume's acquisition
    double *duration;       // (n) seconds, >= 0
    double *modulation;     // (n) amplitudes (1 without a modulation column)
    int *type;              // (n) index into names
    int n_types;
    char **names;           // (n_types) distinct conditions in nilearn's order
    int has_modulation;
} hy_events;

// Parses events from text in memory (name is used in messages). type_col NULL = "trial_type".
int hy_events_parse(const char *name, const char *text, size_t len, const char *type_col, hy_events *ev);
int hy_events_read(const char *path, const char *type_col, hy_events *ev);
void hy_events_free(hy_events *ev);

typedef struct {
    int n_rows, n_cols;
    char **names;   // (n_cols)
    double *x;      // (n_rows, n_cols) row-major
    int n_filled;   // n/a values replaced by column means
} hy_confounds;

// columns: NULL (all) or a comma-separated list of column names, in the order wanted.
int hy_confounds_parse(const char *name, const char *text, size_t len, const char *columns, int fill_mean,
                       hy_confounds *c);
int hy_confounds_read(const char *path, const char *columns, int fill_mean, hy_confounds *c);
void hy_confounds_free(hy_confounds *c);

// Splits `text` into lines and tab-separated fields (shared by both readers and by the GLM's
// split-file reader). rows[r][f] point into a private copy owned by t; rows[0] is the header.
typedef struct {
    int n_rows, n_fields;   // n_fields of the header; every row has exactly that many
    char ***rows;           // (n_rows) arrays of n_fields strings
    int *line;              // (n_rows) 1-based line number in the file
    char *buf;
} hy_tsv;
int hy_tsv_parse(const char *name, const char *text, size_t len, hy_tsv *t);
int hy_tsv_read(const char *path, hy_tsv *t);
int hy_tsv_column(const hy_tsv *t, const char *name);  // index or -1
void hy_tsv_free(hy_tsv *t);
// Strict number: the whole field parses with strtod and is finite. Returns 1 if ok.
int hy_tsv_number(const char *s, double *out);

#endif
