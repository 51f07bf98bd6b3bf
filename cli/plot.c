/* plot.c - loss and accuracy curves as a standalone SVG file: two panels
 * (loss; accuracy in percent) with axes, ticks, grid and a legend, one line
 * each for train, validation and test. Plain SVG 1.1, no script, no fonts
 * beyond sans-serif, so every browser and rsvg shows it. */
#include "report.h"

#include <math.h>
#include <string.h>

#define W 960
#define H 400
#define TOP 56
#define BOTTOM 330
#define PANEL_W 360

typedef struct axis {
    double lo, hi, step;
} axis;

typedef struct panel {
    double x0, x1, y0, y1;  /* plot area in pixels (y0 top) */
    axis x, y;
} panel;

static const char *const colors[3] = {"#1f77b4", "#ff7f0e", "#2ca02c"};
static const char *const names[3] = {"train", "validation", "test"};

/* 1, 2 or 5 times a power of ten, near range / target. */
static double nice_step(double range, int target)
{
    double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static axis make_axis(double lo, double hi, int target, int integer)
{
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad, hi += pad;
    }
    axis a;
    a.step = nice_step(hi - lo, target);
    if (integer && a.step < 1) a.step = 1;
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    return a;
}

static double px(const panel *p, double x) { return p->x0 + (x - p->x.lo) / (p->x.hi - p->x.lo) * (p->x1 - p->x0); }
static double py(const panel *p, double y) { return p->y1 - (y - p->y.lo) / (p->y.hi - p->y.lo) * (p->y1 - p->y0); }

/* The figure of series s (0 train, 1 val, 2 test) of record r, loss or accuracy (%). */
static double value(const epoch_rec *r, int s, int acc)
{
    double v = acc ? (s == 0 ? r->train_acc : s == 1 ? r->val_acc : r->test_acc)
                   : (s == 0 ? r->train_loss : s == 1 ? r->val_loss : r->test_loss);
    return acc ? 100 * v : v;
}

static int range_of(const history *h, int acc, double *lo, double *hi)
{
    int any = 0;
    *lo = HUGE_VAL, *hi = -HUGE_VAL;
    for (int i = 0; i < h->n; i++)
        for (int s = 0; s < 3; s++) {
            double v = value(&h->r[i], s, acc);
            if (!isfinite(v)) continue;
            any = 1;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    return any;
}

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
        }
    }
}

static int decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

static void draw_axes(FILE *f, const panel *p, const char *ylabel)
{
    int dx = decimals(p->x.step), dy = decimals(p->y.step);
    fprintf(f, "<g font-size=\"12\" fill=\"#333\">\n");
    for (double y = p->y.lo; y <= p->y.hi + p->y.step * 1e-6; y += p->y.step) {
        double yy = py(p, y);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n",
                p->x0, yy, p->x1, yy);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n", p->x0 - 6,
                yy + 4, dy, fabs(y) < p->y.step * 1e-6 ? 0.0 : y);
    }
    for (double x = p->x.lo; x <= p->x.hi + p->x.step * 1e-6; x += p->x.step) {
        double xx = px(p, x);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                xx, p->y1, xx, p->y1 + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.*f</text>\n", xx,
                p->y1 + 19, dx, x);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#333\"/>\n", p->x0, p->y0, p->x1 - p->x0, p->y1 - p->y0);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">epoch</text>\n",
            (p->x0 + p->x1) / 2, p->y1 + 40);
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
               "font-size=\"13\">%s</text>\n</g>\n", p->x0 - 52, (p->y0 + p->y1) / 2, ylabel);
}

/* One polyline per run of finite values, and dots when there are few points. */
static int draw_series(FILE *f, const panel *p, const history *h, int s, int acc)
{
    int drawn = 0, open = 0;
    for (int i = 0; i < h->n; i++) {
        double v = value(&h->r[i], s, acc);
        if (!isfinite(v)) {
            if (open) fputs("\"/>\n", f), open = 0;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colors[s]);
        fprintf(f, "%s%.1f,%.1f", open ? " " : "", px(p, h->r[i].epoch), py(p, v));
        open = drawn = 1;
    }
    if (open) fputs("\"/>\n", f);
    for (int i = 0; i < h->n && h->n <= 40; i++) {
        double v = value(&h->r[i], s, acc);
        if (isfinite(v))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    px(p, h->r[i].epoch), py(p, v), colors[s]);
    }
    return drawn;
}

/* Top right for falling loss curves, bottom right for rising accuracy ones,
 * on a white box in case a curve passes there anyway. */
static void draw_legend(FILE *f, const panel *p, const int *present, int acc)
{
    int n = present[0] + present[1] + present[2];
    double x = p->x1 - 118, h = 17.0 * n + 8, y = acc ? p->y1 - 8 - h : p->y0 + 8;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"110\" height=\"%.1f\" fill=\"white\" "
               "fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n", x, y, h);
    y += 17;
    for (int s = 0; s < 3; s++) {
        if (!present[s]) continue;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"3\"/>\n", x + 8, y - 4, x + 30, y - 4, colors[s]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#333\">%s</text>\n",
                x + 36, y, names[s]);
        y += 17;
    }
}

static void draw_panel(FILE *f, const history *h, int acc, double x0, double width)
{
    double lo, hi;
    range_of(h, acc, &lo, &hi);
    if (acc) lo = fmax(lo, 0), hi = fmin(hi, 100);
    double first = h->r[0].epoch, last = h->r[h->n - 1].epoch;
    panel p = {x0, x0 + width, TOP, BOTTOM, make_axis(first, last > first ? last : first + 1, 8, 1),
               make_axis(lo, hi, 6, 0)};
    if (acc) p.y.lo = fmax(p.y.lo, 0), p.y.hi = fmin(p.y.hi, 100);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"15\" "
               "font-weight=\"bold\" fill=\"#222\">%s</text>\n", (p.x0 + p.x1) / 2, TOP - 10,
            acc ? "accuracy" : "loss");
    draw_axes(f, &p, acc ? "accuracy (%)" : "loss");
    int present[3];
    for (int s = 0; s < 3; s++) present[s] = draw_series(f, &p, h, s, acc);
    draw_legend(f, &p, present, acc);
}

static void write_svg(FILE *f, const history *h, const char *title)
{
    double lo, hi;
    int has_acc = range_of(h, 1, &lo, &hi), has_loss = range_of(h, 0, &lo, &hi);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
               "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" fill=\"#222\">",
            W / 2);
    xml_text(f, title);
    fputs("</text>\n", f);
    if (!has_loss)
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no epochs yet</text>\n",
                W / 2, H / 2);
    else if (has_acc) {
        draw_panel(f, h, 0, 90, PANEL_W);
        draw_panel(f, h, 1, 90 + PANEL_W + 110, PANEL_W);
    } else
        draw_panel(f, h, 0, 90, 2 * PANEL_W + 110);
    fputs("</svg>\n", f);
}

int plot_svg(const char *path, const history *h, const char *title, char *err, size_t errlen)
{
    bp_file *f;
    if (bp_file_open(&f, path) == BP_OK) {
        write_svg(bp_file_stream(f), h, title);
        if (bp_file_commit(f) == BP_OK) return 0;
    }
    snprintf(err, errlen, "%s", bp_last_error());
    return -1;
}
