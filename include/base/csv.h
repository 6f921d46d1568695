// csv.h - the project's own CSV files (run.csv, metrics.csv, curve.csv, ...): one header line,
// comma-separated fields without quoting (no field holds a comma or a newline). Lines are split
// in place; columns are found by their header name, so readers accept files with extra or
// reordered columns (older and newer versions of a file).
#ifndef HY_CSV_H
#define HY_CSV_H

// Splits `line` in place at commas (a trailing "\n" or "\r\n" is removed) into fields[0..);
// returns the number of fields, or max + 1 when there are more than max.
int hy_csv_split(char *line, char **fields, int max);
// Index of the column called `name` among header[0..n), or -1.
int hy_csv_col(char *const *header, int n, const char *name);
// Parses a whole field as a double ("nan" and "inf" accepted; empty or trailing text: HY_EFORMAT
// without a message, the caller names the file).
int hy_csv_double(const char *field, double *v);
// Parses a whole field as a long long (same rules).
int hy_csv_ll(const char *field, long long *v);

#endif
