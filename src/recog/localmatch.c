/* localmatch.c — descriptor matching + RANSAC similarity (see localmatch.h). */
#include "recog/localmatch.h"
#include <math.h>
#include <string.h>

#define MAX_DIST 120        /* of 384 bits: nearest neighbours further away are chance */
#define ITERS 256           /* RANSAC hypotheses */
#define INLIER_PX 3.0f      /* reprojection tolerance (working pixels) */
#define MIN_BASE2 36.0f     /* squared length of a hypothesis' base (points too close: noisy) */
#define SCALE_MIN 0.4f
#define SCALE_MAX 2.5f
#define ANGLE_MAX 0.61f     /* radians, 35 degrees */

int recog_local_match(const keypoints_t *photo, const keypoints_t *product, recog_local_t *r)
{
    memset(r, 0, sizeof *r);
    float px[KP_MAX], py[KP_MAX], qx[KP_MAX], qy[KP_MAX];
    int m = 0;
    for (int i = 0; i < photo->n; i++) {
        int best = MAX_DIST + 1, bj = -1;
        for (int j = 0; j < product->n; j++) {
            int d = keypoints_distance(photo->d[i], product->d[j]);
            if (d < best) { best = d; bj = j; }
        }
        if (bj < 0) continue;
        qx[m] = photo->xy[i][0] / 8.0f;
        qy[m] = photo->xy[i][1] / 8.0f;
        px[m] = product->xy[bj][0] / 8.0f;
        py[m] = product->xy[bj][1] / 8.0f;
        m++;
    }
    r->matches = m;
    if (m < 3) return 0;
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    int best = 0;
    const float tol2 = INLIER_PX * INLIER_PX;
    for (int it = 0; it < ITERS; it++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int a = (int)((s >> 33) % (uint64_t)m), b = (int)((s >> 13) % (uint64_t)m);
        if (a == b) continue;
        float dpx = px[b] - px[a], dpy = py[b] - py[a], dqx = qx[b] - qx[a], dqy = qy[b] - qy[a];
        float n2 = dpx * dpx + dpy * dpy;
        if (n2 < MIN_BASE2 || dqx * dqx + dqy * dqy < MIN_BASE2) continue;
        float za = (dqx * dpx + dqy * dpy) / n2, zb = (dpx * dqy - dpy * dqx) / n2;
        float sc = sqrtf(za * za + zb * zb), an = atan2f(zb, za);
        if (sc < SCALE_MIN || sc > SCALE_MAX || fabsf(an) > ANGLE_MAX) continue;
        int cnt = 0;
        for (int k = 0; k < m; k++) {
            float ux = px[k] - px[a], uy = py[k] - py[a];
            float ex = qx[a] + za * ux - zb * uy - qx[k], ey = qy[a] + zb * ux + za * uy - qy[k];
            cnt += ex * ex + ey * ey < tol2;
        }
        if (cnt > best) { best = cnt; r->scale = sc; r->angle = an; }
    }
    r->inliers = best;
    return best;
}
