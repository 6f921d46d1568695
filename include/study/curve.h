// curve.h - a training run's loss curve: per epoch the training loss and the test loss of an
// iterative decoder (decoders.h dec_epoch), stored as runs/<name>/curve.csv and drawn as
// curve.png / curve.svg.
//
//   curve.csv   header "epoch,train_loss,test_loss", then one row per epoch from 1; losses
//               printed with %.9g (float32 weights make the 9th digit meaningful); a missing
//               test loss is "nan". With recipe hyper the numbers are what HYPER's notebook
//               prints (mean batch L2Loss, test L2Loss); with recipe torch, MSEs.
#ifndef HY_CURVE_H
#define HY_CURVE_H

typedef struct {
    int n, cap;
    int *epoch;
    double *train, *test;
} loss_curve;

void hy_curve_init(loss_curve *c);
void hy_curve_free(loss_curve *c);
int hy_curve_add(loss_curve *c, int epoch, double train_loss, double test_loss);  // HY_OK / HY_ENOMEM

// Writes the first `upto` rows (all when upto <= 0 or > n) atomically.
int hy_curve_write_csv(const char *path, const loss_curve *c, int upto);
// Reads a curve.csv back (strict: the header, consecutive epochs from 1, numbers or nan).
int hy_curve_read_csv(const char *path, loss_curve *c);
// Line chart of the first `upto` rows: train (blue) and test (red) loss against the epoch, with
// `title` above and `ylabel` on the y axis. Either path may be NULL.
int hy_curve_plot(const char *png_path, const char *svg_path, const loss_curve *c, int upto, const char *title,
                  const char *ylabel);

#endif
