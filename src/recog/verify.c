/* verify.c — candidate verification by aligning the product template onto the photo
 * template (see verify.h). Coarse-to-fine search: both templates' foreground frames give
 * the starting shift and scale; a coarse grid over rotation, scale and shift is scored on
 * a sparse subset of the product's pixels, and the best is refined on more of them.
 * A pose is scored on two things: the colours of the product's pixels (pose_score) and
 * whether its silhouette edges reappear (edge pairs below). */
#include "recog/verify.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T FEATURES_TPL
#define MAX_POINTS 256
#define COARSE_STEP 8          /* every 8th point in the coarse pass */
#define FINE_STEP 2            /* every 2nd in the refinement */
#define TAU 30.0f              /* per-pixel colour error cap (0..255 units) */
#define OUTSIDE_COST 0.5f      /* a point falling outside the photo: half the cap */
#define KEEP 1                 /* coarse winners refined (3 measured +0.3 top-1 for 2.5x the time) */
#define MAX_PAIRS 64           /* silhouette edge pairs per product */
#define EDGE_OUT 2             /* the outside point of a pair: pixels beyond the silhouette */
#define EDGE_MIN 15.0f         /* catalog contrast a pair needs (product vs its background) */
#define EDGE_FULL 35.0f        /* photo contrast that counts as a full edge (0..255 units) */
#define EDGE_WEIGHT 0.5f       /* share of the edge term in a pose's score */

typedef struct { float x, y, c[3], lum; } point_t;
typedef struct { float cx, cy, sx, sy; } frame_t;
typedef struct { float score, theta, scale, tx, ty; } pose_t;
/* A point just inside the product's silhouette and one EDGE_OUT pixels outside it. */
typedef struct { float xi, yi, xo, yo; } edge_pair_t;
typedef struct { edge_pair_t p[MAX_PAIRS]; int n; } edges_t;

/* Foreground centroid and spread; the photo's is centre-weighted like the features. */
static int frame_of(const uint8_t *fg, int centre, frame_t *f)
{
    double g[T], m0 = 0, mx = 0, my = 0;
    for (int i = 0; i < T; i++) {
        double d = (i + 0.5) / T - 0.5;
        g[i] = centre ? exp(-d * d / (2 * 0.33 * 0.33)) : 1;   /* the Gaussian is separable */
    }
    for (int y = 0; y < T; y++)
        for (int x = 0; x < T; x++) {
            double w = fg[y * T + x] / 255.0 * g[x] * g[y];
            m0 += w; mx += w * x; my += w * y;
        }
    if (m0 < 1e-3) return -1;
    f->cx = (float)(mx / m0);
    f->cy = (float)(my / m0);
    double vx = 0, vy = 0;
    for (int y = 0; y < T; y++)
        for (int x = 0; x < T; x++) {
            double w = fg[y * T + x] / 255.0 * g[x] * g[y];
            vx += w * (x - f->cx) * (x - f->cx);
            vy += w * (y - f->cy) * (y - f->cy);
        }
    f->sx = (float)sqrt(vx / m0) + 0.5f;
    f->sy = (float)sqrt(vy / m0) + 0.5f;
    return 0;
}

static void sample(const uint8_t *rgb, float x, float y, float out[3])
{
    int x0 = (int)x, y0 = (int)y;
    float fx = x - x0, fy = y - y0;
    if (x0 >= T - 1) { x0 = T - 2; fx = 1; }
    if (y0 >= T - 1) { y0 = T - 2; fy = 1; }
    const uint8_t *p = rgb + 3 * (y0 * T + x0);
    for (int c = 0; c < 3; c++) {
        float a = p[c] + fx * (p[3 + c] - p[c]);
        float b = p[3 * T + c] + fx * (p[3 * T + 3 + c] - p[3 * T + c]);
        out[c] = a + fy * (b - a);
    }
}

/* Score of one pose over points[0..n) taken every `step`: the photo's colours at the
 * transformed points against the product's, after the one gain/offset that matches their
 * brightness spread (a brightness or contrast change is such a map). */
static float edge_score(const edges_t *ed, int step, const frame_t *pf, const frame_t *qf, const uint8_t *photo,
                        const pose_t *p);

static float pose_score(const point_t *pts, int n, int step, const frame_t *pf, const frame_t *qf,
                        const uint8_t *photo, float mean_c, float std_c, const edges_t *ed, pose_t *p)
{
    float q[MAX_POINTS][3];
    unsigned char inside[MAX_POINTS];
    float co = cosf(p->theta), si = sinf(p->theta);
    double sq = 0, sqq = 0;
    int m = 0, total = 0;
    for (int i = 0; i < n; i += step) {
        total++;
        float u = pts[i].x - pf->cx, v = pts[i].y - pf->cy;
        float x = qf->cx + p->tx + p->scale * (co * u - si * v);
        float y = qf->cy + p->ty + p->scale * (si * u + co * v);
        if (x < 0 || y < 0 || x > T - 1 || y > T - 1) { inside[i] = 0; continue; }
        inside[i] = 1;
        sample(photo, x, y, q[i]);
        float l = (q[i][0] + q[i][1] + q[i][2]) / 3;
        sq += l; sqq += l * l; m++;
    }
    if (m < total / 3 || m < 4) return 0;
    float mean_q = (float)(sq / m), var_q = (float)(sqq / m) - mean_q * mean_q;
    float a = std_c > 1 ? sqrtf(fmaxf(var_q, 0)) / std_c : 1;
    if (a < 0.5f) a = 0.5f;
    if (a > 2.0f) a = 2.0f;
    float b = mean_q - a * mean_c;
    float err = 0;
    for (int i = 0; i < n; i += step) {
        if (!inside[i]) { err += OUTSIDE_COST * TAU; continue; }
        float e = (fabsf(q[i][0] - (a * pts[i].c[0] + b)) + fabsf(q[i][1] - (a * pts[i].c[1] + b)) +
                   fabsf(q[i][2] - (a * pts[i].c[2] + b))) / 3;
        err += e < TAU ? e : TAU;
    }
    float colour = 1 - err / (total * TAU);
    if (!ed->n) return colour;
    return (1 - EDGE_WEIGHT) * colour + EDGE_WEIGHT * edge_score(ed, step > 1 ? step / 2 : 1, pf, qf, photo, p);
}

/* Share of the product's silhouette edges that the photo shows at this pose. Colours alone
 * are blind to shape: a product of the right colour but a smaller or different outline
 * lays all its pixels inside the photographed product and scores as well as the true one.
 * Its outline, though, falls inside a uniform region of the photo, where the true one
 * crosses an edge (against whatever background: clutter changes the colour outside, not
 * the presence of an edge). An occluder hides some edges: a bounded loss. */
static float edge_score(const edges_t *ed, int step, const frame_t *pf, const frame_t *qf, const uint8_t *photo,
                        const pose_t *p)
{
    float co = cosf(p->theta), si = sinf(p->theta), sum = 0;
    int n = 0;
    for (int i = 0; i < ed->n; i += step) {
        const edge_pair_t *e = &ed->p[i];
        float ui = e->xi - pf->cx, vi = e->yi - pf->cy, uo = e->xo - pf->cx, vo = e->yo - pf->cy;
        float xi = qf->cx + p->tx + p->scale * (co * ui - si * vi), yi = qf->cy + p->ty + p->scale * (si * ui + co * vi);
        float xo = qf->cx + p->tx + p->scale * (co * uo - si * vo), yo = qf->cy + p->ty + p->scale * (si * uo + co * vo);
        n++;
        if (xi < 0 || yi < 0 || xi > T - 1 || yi > T - 1 || xo < 0 || yo < 0 || xo > T - 1 || yo > T - 1) {
            sum += 0.5f;        /* outside the photo: no evidence either way */
            continue;
        }
        float a[3], b[3];
        sample(photo, xi, yi, a);
        sample(photo, xo, yo, b);
        float d = (fabsf(a[0] - b[0]) + fabsf(a[1] - b[1]) + fabsf(a[2] - b[2])) / 3;
        sum += d >= EDGE_FULL ? 1 : d / EDGE_FULL;
    }
    return n ? sum / n : 0;
}

/* The product's silhouette edge pairs: a foreground pixel one step inside the boundary and
 * the background pixel EDGE_OUT steps outside, in the four axis directions, where the two
 * differ in colour in the catalog picture; an even subset of at most MAX_PAIRS. */
static void edges_of(const features_template_t *product, edges_t *ed)
{
    static const int dir[4][2] = { { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 } };
    ed->n = 0;
    int total = 0, acc = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < T * T; i++) {
            if (product->fg[i] < 192) continue;
            int x = i % T, y = i / T;
            for (int k = 0; k < 4; k++) {
                int xi = x - dir[k][0], yi = y - dir[k][1], xo = x + dir[k][0] * EDGE_OUT, yo = y + dir[k][1] * EDGE_OUT;
                if (xo < 0 || yo < 0 || xo >= T || yo >= T || xi < 0 || yi < 0 || xi >= T || yi >= T) continue;
                if (product->fg[yo * T + xo] > 64 || product->fg[yi * T + xi] < 192) continue;
                const uint8_t *a = product->rgb + 3 * (yi * T + xi), *b = product->rgb + 3 * (yo * T + xo);
                if ((abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2])) / 3.0f < EDGE_MIN) continue;
                if (pass == 0) { total++; continue; }
                acc += MAX_PAIRS;
                if (acc < total) continue;
                acc -= total;
                if (ed->n < MAX_PAIRS) ed->p[ed->n++] = (edge_pair_t){ (float)xi, (float)yi, (float)xo, (float)yo };
            }
        }
}

static void keep_best(pose_t *best, const pose_t *p)
{
    for (int k = 0; k < KEEP; k++)
        if (p->score > best[k].score) {
            memmove(best + k + 1, best + k, sizeof *best * (KEEP - 1 - k));
            best[k] = *p;
            return;
        }
}

/* Binomial [1 4 6 4 1] blur, separable. Templates carry fine texture that aliases at 48
 * pixels: without the blur a sub-pixel misalignment of the same product looks like a
 * colour mismatch. Blurred, a pattern compares by its average colour and layout. */
static void blur_rgb(const uint8_t *in, uint8_t *out);

void recog_verify_blur(features_template_t *t)
{
    uint8_t out[T * T * 3];
    blur_rgb(t->rgb, out);
    memcpy(t->rgb, out, sizeof out);
}

static void blur_rgb(const uint8_t *in, uint8_t *out)
{
    static const int k[5] = { 1, 4, 6, 4, 1 };
    int tmp[T * T * 3];
    for (int y = 0; y < T; y++)
        for (int x = 0; x < T; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0, w = 0;
                for (int d = -2; d <= 2; d++) {
                    int xx = x + d;
                    if (xx < 0 || xx >= T) continue;
                    s += k[d + 2] * in[3 * (y * T + xx) + c];
                    w += k[d + 2];
                }
                tmp[3 * (y * T + x) + c] = s * 16 / w;
            }
    for (int y = 0; y < T; y++)
        for (int x = 0; x < T; x++)
            for (int c = 0; c < 3; c++) {
                int s = 0, w = 0;
                for (int d = -2; d <= 2; d++) {
                    int yy = y + d;
                    if (yy < 0 || yy >= T) continue;
                    s += k[d + 2] * tmp[3 * (yy * T + x) + c];
                    w += k[d + 2];
                }
                out[3 * (y * T + x) + c] = (uint8_t)((s / w + 8) / 16);
            }
}

float recog_verify(const features_template_t *photo_in, const features_template_t *product_in)
{
    features_template_t *b = malloc(2 * sizeof *b);
    if (!b) return 0;
    b[0] = *photo_in;
    b[1] = *product_in;
    recog_verify_blur(&b[0]);
    recog_verify_blur(&b[1]);
    float s = recog_verify_blurred(&b[0], &b[1]);
    free(b);
    return s;
}

float recog_verify_blurred(const features_template_t *photo, const features_template_t *product)
{
    point_t pts[MAX_POINTS];
    int count = 0;
    for (int i = 0; i < T * T; i++) count += product->fg[i] >= 128;
    if (count < 16) return 0;
    /* an even subset of the foreground pixels, at most MAX_POINTS */
    int n = 0, acc = 0;
    double sl = 0, sll = 0;
    for (int i = 0; i < T * T && n < MAX_POINTS; i++) {
        if (product->fg[i] < 128) continue;
        acc += MAX_POINTS;
        if (acc < count) continue;
        acc -= count;
        point_t *p = &pts[n++];
        p->x = (float)(i % T);
        p->y = (float)(i / T);
        for (int c = 0; c < 3; c++) p->c[c] = product->rgb[3 * i + c];
        p->lum = (p->c[0] + p->c[1] + p->c[2]) / 3;
        sl += p->lum; sll += p->lum * p->lum;
    }
    edges_t ed;
    edges_of(product, &ed);
    float mean_c = (float)(sl / n), std_c = sqrtf(fmaxf((float)(sll / n) - mean_c * mean_c, 0));
    frame_t pf, qf;
    if (frame_of(product->fg, 1, &pf) || frame_of(photo->fg, 1, &qf)) return 0;
    float s0 = sqrtf((qf.sx * qf.sy) / (pf.sx * pf.sy));
    if (s0 < 0.3f) s0 = 0.3f;
    if (s0 > 3.0f) s0 = 3.0f;

    static const float scales[] = { 0.85f, 1.0f, 1.15f };
    static const float shifts[] = { -4, 0, 4 };
    pose_t best[KEEP];
    memset(best, 0, sizeof best);
    for (int r = -3; r <= 3; r++)
        for (int si = 0; si < 3; si++)
            for (int yi = 0; yi < 3; yi++)
                for (int xi = 0; xi < 3; xi++) {
                    pose_t p = { 0, r * 5.0f * (float)M_PI / 180, s0 * scales[si], shifts[xi], shifts[yi] };
                    p.score = pose_score(pts, n, COARSE_STEP, &pf, &qf, photo->rgb, mean_c, std_c, &ed, &p);
                    keep_best(best, &p);
                }
    pose_t top = { 0 };
    for (int k = 0; k < KEEP; k++) {
        pose_t c = best[k];
        for (int dr = -1; dr <= 1; dr++)
            for (int ds = -1; ds <= 1; ds++)
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        pose_t p = { 0, c.theta + dr * 2.5f * (float)M_PI / 180, c.scale * (1 + 0.07f * ds),
                                     c.tx + 2.0f * dx, c.ty + 2.0f * dy };
                        p.score = pose_score(pts, n, FINE_STEP, &pf, &qf, photo->rgb, mean_c, std_c, &ed, &p);
                        if (p.score > top.score) top = p;
                    }
    }
    /* the winner scored on every point */
    return pose_score(pts, n, 1, &pf, &qf, photo->rgb, mean_c, std_c, &ed, &top);
}
