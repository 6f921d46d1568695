// test_report_html.c - RESULTS/report.html from a real (tiny) sweep: one self-contained file
// (images embedded, nothing fetched, no JavaScript) with the ranked table and its significance
// marks, the chart, every run's comparison strip and curve, the setup and the commands; and the
// page rendered by headless Chromium: the screenshot is not blank and the console stays empty
// (skipped with a SKIP line where Chromium is not installed).
#include "base/common.h"
#include "base/image_io.h"
#include "testutil.h"

// A tiny sweep (test fixtures: 32x32 generator, narrow FaceNet) into d/res; returns the report.
static char *make_report(const char *d) {
    char *out = NULL;
    int rc = run_hyper(&out, "simulate -q -o %s/sim --voxels 100 --train 60 --test 6 --reps 2 --seed 5", d);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    rc = run_hyper(&out, "sweep -q -d %s/sim -g tests/fixtures/pggan_tiny.bin -e tests/fixtures/facenet_tiny.bin "
                         "--crop full --null 2 -o %s/res --models linear --epochs 3,6 --closed ols --scale 2",
                   d, d);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    char p[400];
    snprintf(p, sizeof p, "%s/res/report.html", d);
    uint8_t *b;
    size_t n;
    ck_assert_msg(hy_read_file(p, &b, &n, 0) == 0, "%s", hy_errmsg());
    return (char *)b;
}

static int count(const char *s, const char *needle) {
    int k = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) k++;
    return k;
}

START_TEST(report_html_is_self_contained_and_complete) {
    char *d = test_tmpdir(), *h = make_report(d);
    // nothing to fetch: the only URLs are the SVG namespace; no script; every image is data:
    int xmlns = count(h, "xmlns=\"http://www.w3.org/2000/svg\"");
    ck_assert_int_eq(count(h, "http://") + count(h, "https://"), xmlns);
    ck_assert_int_eq(count(h, "<script"), 0);
    ck_assert_int_eq(count(h, "src=\""), count(h, "src=\"data:image/png;base64,"));
    ck_assert_ptr_nonnull(strstr(h, "Content-Security-Policy"));
    // three runs (linear_3_30, linear_6_30, ols): a strip each; chart, curves overlay, 2 run curves
    ck_assert_int_eq(count(h, "data:image/png;base64,"), 3);
    ck_assert_int_eq(count(h, "<svg"), 4);
    const char *want[] = {"<td class=\"l\">linear_3_30</td>", "<td class=\"l\">linear_6_30</td>", "<td class=\"l\">ols</td>",
                          "<h3>linear_6_30</h3>", "below baseline p", "vs next: Holm p", "p &lt; 0.001",
                          "data_crc", "generator_crc", "facenet_crc", "hyper sweep -q -d", "hyper report",
                          "FaceNet distance to the truth (lower is better)", "Test loss per epoch"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) ck_assert_msg(strstr(h, want[i]), "report.html lacks '%s'", want[i]);
    // the command recorded is the one that made the runs (without a --shard)
    ck_assert_ptr_nonnull(strstr(h, "--models linear --epochs 3,6 --closed ols --scale 2"));
    free(h);
}
END_TEST

static const char *chromium(void) {
    static const char *names[] = {"chromium", "chromium-browser", "google-chrome", NULL};
    const char *env = getenv("CHROMIUM");
    if (env && *env) return env;
    for (int i = 0; names[i]; i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", names[i]);
        if (system(cmd) == 0) return names[i];
    }
    return NULL;
}

// Renders url into shot (PNG) with headless Chromium; returns the number of console messages
// it logged (CSP violations, errors, any console output), or -1 when it did not run.
static int render(const char *browser, const char *dir, const char *url, const char *shot) {
    char cmd[2400], log[600];
    snprintf(log, sizeof log, "%s/chromium.log", dir);
    snprintf(cmd, sizeof cmd,
             "timeout 120 %s --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
             "--user-data-dir='%s/profile' --window-size=1300,2400 --enable-logging=stderr --v=0 "
             "--screenshot='%s' '%s' >'%s' 2>&1",
             browser, dir, shot, url, log);
    if (system(cmd) != 0 || !file_exists(shot)) return -1;
    FILE *f = fopen(log, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, ":CONSOLE") != NULL;
    fclose(f);
    return n;
}

START_TEST(report_html_renders_in_chromium) {
    const char *browser = chromium();
    if (!browser) TEST_SKIP("no Chromium (Debian: apt-get install chromium; or set CHROMIUM)");
    char *d = test_tmpdir(), *h = make_report(d), url[600], shot[400];
    free(h);
    snprintf(url, sizeof url, "file://%s/res/report.html", d);
    snprintf(shot, sizeof shot, "%s/shot.png", d);
    int console = render(browser, d, url, shot);
    if (console < 0) TEST_SKIP("%s did not produce a screenshot (see its log in a kept run)", browser);
    ck_assert_msg(console == 0, "report.html logged %d console message(s) in Chromium", console);
    int w, ht;
    uint8_t *rgb;
    ck_assert_int_eq(hy_image_read_rgb8(shot, &w, &ht, &rgb), 0);
    long ink = 0;
    static uint8_t seen[1 << 15];  // distinct colours, 5 bits per channel
    memset(seen, 0, sizeof seen);
    int colours = 0;
    for (long i = 0; i < (long)w * ht; i++) {
        const uint8_t *p = rgb + 3 * i;
        ink += p[0] < 200 || p[1] < 200 || p[2] < 200;
        int k = (p[0] >> 3) << 10 | (p[1] >> 3) << 5 | p[2] >> 3;
        colours += !seen[k], seen[k] = 1;
    }
    printf("  chromium %s: %dx%d screenshot, %.1f%% ink, %d colours, 0 console messages\n", browser, w, ht,
           100.0 * ink / ((double)w * ht), colours);
    // text, tables, charts and faces: a blank or unstyled error page has far less of both
    ck_assert_msg(ink > (long)w * ht / 50, "screenshot is nearly blank (%ld dark pixels)", ink);
    ck_assert_msg(colours > 100, "screenshot has only %d colours", colours);
    free(rgb);
    // the console check can fail: a page that fetches an image and runs a script logs both
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.html", d);
    FILE *f = fopen(bad, "w");
    fputs("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
          "</head><body><img src=\"http://127.0.0.1:9/x.png\"><script>console.log(1)</script></body></html>\n", f);
    fclose(f);
    snprintf(url, sizeof url, "file://%s", bad);
    snprintf(shot, sizeof shot, "%s/bad.png", d);
    ck_assert_int_ge(render(browser, d, url, shot), 1);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, report_html_is_self_contained_and_complete);
    tcase_add_test(tc, report_html_renders_in_chromium);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
