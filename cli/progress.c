/* progress.c - what a training run shows while it runs: on a terminal a bar
 * (epoch, batch, loss, samples/s, ETA) redrawn in place at most 10 times a
 * second; otherwise one plain line per epoch, so that logs stay readable. */
#include "report.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
    return 80;
}

void progress_init(progress *p, int quiet, int epochs, size_t n_train)
{
    p->quiet = quiet;
    p->tty = !quiet && isatty(STDOUT_FILENO);
    p->epochs = epochs;
    p->n_train = n_train;
    p->epoch_start = p->last_draw = now();
    p->trainer = NULL;
    p->batches_run = 0;
    /* BACKPROP_TEST_SIGINT_AT=N: the tests' way to interrupt at an exact batch. */
    const char *at = getenv("BACKPROP_TEST_SIGINT_AT");
    p->sigint_at = at ? strtol(at, NULL, 10) : 0;
}

void progress_epoch_start(progress *p) { p->epoch_start = p->last_draw = now(); }

static void fmt_time(char *buf, size_t len, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void draw_bar(const progress *p, const bp_batch_info *info, double t)
{
    double secs = t - p->epoch_start, rate = secs > 0 ? (double)info->samples / secs : 0;
    double left = (double)(p->n_train - info->samples) + (double)p->n_train * (p->epochs - info->epoch);
    char eta[32];
    fmt_time(eta, sizeof eta, rate > 0 ? left / rate : 0);
    char tail[160];
    int tl = snprintf(tail, sizeof tail, " %zu/%zu  loss %.4g  %.0f samples/s  ETA %s",
                      info->batch, info->n_batches, info->loss, rate, eta);
    char head[32];
    int hl = snprintf(head, sizeof head, "epoch %d/%d [", info->epoch, p->epochs);
    int bar = term_width() - 1 - hl - 1 - tl;
    if (bar > 40) bar = 40;
    printf("\r%s", head);
    if (bar >= 5) {
        int done = (int)((double)bar * (double)info->batch / (double)info->n_batches);
        for (int i = 0; i < bar; i++) putchar(i < done ? '=' : i == done ? '>' : ' ');
    }
    printf("]%s\033[K", tail);
    fflush(stdout);
}

void progress_on_batch(void *user, const bp_batch_info *info)
{
    progress *p = user;
    if (p->sigint_at > 0 && ++p->batches_run == p->sigint_at) raise(SIGINT);
    if (!p->tty) return;
    double t = now();
    if (t - p->last_draw < 0.1 && info->batch < info->n_batches) return;
    p->last_draw = t;
    draw_bar(p, info, t);
}

const char *fmt_acc(char *buf, size_t len, double acc)
{
    if (isfinite(acc)) snprintf(buf, len, "%.2f%%", 100 * acc);
    else snprintf(buf, len, "-");
    return buf;
}

const char *fmt_loss(char *buf, size_t len, double loss)
{
    if (isfinite(loss)) snprintf(buf, len, "%.4g", loss);
    else snprintf(buf, len, "-");
    return buf;
}

void progress_epoch(progress *p, const epoch_rec *r)
{
    if (p->quiet) return;
    char a[32], line[512];
    int n = snprintf(line, sizeof line, "epoch %*d/%d  train loss %.4g acc %s", p->epochs >= 100 ? 3 : 2,
                     r->epoch, p->epochs, r->train_loss, fmt_acc(a, sizeof a, r->train_acc));
    if (isfinite(r->val_loss))
        n += snprintf(line + n, sizeof line - (size_t)n, "  val loss %.4g acc %s", r->val_loss,
                      fmt_acc(a, sizeof a, r->val_acc));
    if (isfinite(r->test_loss))
        n += snprintf(line + n, sizeof line - (size_t)n, "  test loss %.4g acc %s", r->test_loss,
                      fmt_acc(a, sizeof a, r->test_acc));
    snprintf(line + n, sizeof line - (size_t)n, "  lr %.3g  %.1fs  %.0f samples/s", r->lr,
             r->seconds, r->samples_per_sec);
    printf("%s%s\n", p->tty ? "\r\033[K" : "", line);
    fflush(stdout);
}
