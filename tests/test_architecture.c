// test_architecture.c - the folder tree is the architecture (README "Architecture"):
//   - every C file lives in one role folder of src/ (no loose files), headers in include/<role>/;
//   - includes point one way: base -> nn -> models, decoders -> study -> cli;
//   - the README's architecture table names exactly the role folders that exist.
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char *ROLES[] = {"base", "nn", "models", "decoders", "study", "cli"};
static const int RANK[] = {0, 1, 2, 2, 3, 4};  // models and decoders are siblings: neither includes the other
#define N_ROLES 6

static int role_index(const char *name, size_t len) {
    for (int k = 0; k < N_ROLES; k++)
        if (strlen(ROLES[k]) == len && !strncmp(ROLES[k], name, len)) return k;
    return -1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

// Checks every `#include "role/x.h"` of one file against the file's own role; returns violations.
static int check_file(const char *path, int own) {
    char *s = slurp(path);
    ck_assert_msg(s != NULL, "cannot read %s", path);
    int bad = 0;
    for (char *p = strstr(s, "#include \""); p; p = strstr(p + 1, "#include \"")) {
        const char *name = p + strlen("#include \"");
        const char *slash = strchr(name, '/'), *quote = strchr(name, '"');
        if (!slash || !quote || slash > quote) continue;  // "hyper.h" or a same-folder include
        int inc = role_index(name, (size_t)(slash - name));
        if (inc < 0) {
            fprintf(stderr, "%s includes %.*s from an unknown folder\n", path, (int)(quote - name), name);
            bad++;
        } else if (RANK[inc] > RANK[own] || (RANK[inc] == RANK[own] && inc != own)) {
            fprintf(stderr, "%s (%s) includes %.*s: against the direction of dependencies\n", path, ROLES[own],
                    (int)(quote - name), name);
            bad++;
        }
    }
    free(s);
    return bad;
}

// Walks TOP/<role>/*.EXT; loose files directly in TOP (other than `allowed`) are errors.
static int check_tree(const char *top, const char *ext, const char *allowed, int *n_files) {
    DIR *d = opendir(top);
    ck_assert_msg(d != NULL, "cannot open %s", top);
    int bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", top, e->d_name);
        int r = role_index(e->d_name, strlen(e->d_name));
        DIR *sub = opendir(path);
        if (!sub) {
            if (!allowed || strcmp(e->d_name, allowed)) {
                fprintf(stderr, "%s is not in a role folder\n", path);
                bad++;
            }
            continue;
        }
        if (r < 0) {
            fprintf(stderr, "%s is not a role folder of the README's architecture\n", path);
            bad++;
        }
        struct dirent *f;
        while ((f = readdir(sub))) {
            size_t n = strlen(f->d_name);
            if (n < strlen(ext) || strcmp(f->d_name + n - strlen(ext), ext)) continue;
            char fp[2100];
            snprintf(fp, sizeof fp, "%s/%s", path, f->d_name);
            if (r >= 0) bad += check_file(fp, r);
            (*n_files)++;
        }
        closedir(sub);
    }
    closedir(d);
    return bad;
}

START_TEST(includes_point_one_way) {
    int n = 0;
    int bad = check_tree("src", ".c", NULL, &n) + check_tree("include", ".h", "hyper.h", &n);
    ck_assert_msg(bad == 0, "%d layering violations (listed above)", bad);
    ck_assert_msg(n > 50, "only %d files found: wrong working directory?", n);
}
END_TEST

START_TEST(readme_map_matches_the_tree) {
    char *s = slurp("README.md");
    ck_assert_ptr_nonnull(s);
    char *a = strstr(s, "\n## Architecture");
    ck_assert_msg(a != NULL, "README has no Architecture section");
    char *end = strstr(a + 1, "\n## ");
    if (end) *end = 0;
    for (int k = 0; k < N_ROLES; k++) {
        char row[64], dir[64];
        snprintf(row, sizeof row, "| `%s/` |", ROLES[k]);
        snprintf(dir, sizeof dir, "src/%s", ROLES[k]);
        ck_assert_msg(strstr(a, row) != NULL, "README architecture table lacks the row %s", row);
        DIR *d = opendir(dir);
        ck_assert_msg(d != NULL, "README names %s, which does not exist", dir);
        closedir(d);
    }
    // and no role folder exists that the README does not describe (check_tree reports those)
    free(s);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("architecture");
    TCase *t = tcase_create("tree");
    tcase_add_test(t, includes_point_one_way);
    tcase_add_test(t, readme_map_matches_the_tree);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
