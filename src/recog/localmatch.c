/* localmatch.c — descriptor matching + RANSAC similarity (see localmatch.h). */
#include "recog/localmatch.h"
#include <math.h>
#include <string.h>

/* The descriptor distances are the hot loop (up to KP_MAX^2 per candidate): a clone with
 * the POPCNT instruction is chosen at load time where the CPU has it (baseline x86-64
 * lacks it, and the library call is several times slower). The clones start on a 64-byte
 * boundary: left to the link order, the same code ran 1.6-2.5x slower in some binaries
 * (bench/recog latency with search + verification 25.5 ms instead of 9.9 ms) when its
 * tight inner loop straddled an instruction-fetch block. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("popcnt", "default"), aligned(64)))
#else
#define HOT
#endif

#define MAX_DIST 120        /* of 384 bits: nearest neighbours further away are chance */
#define KNN 1               /* pairs per photo keypoint (2 or 3 measured worse: more chance inliers) */
#define ITERS 256           /* RANSAC hypotheses (512 measured no better in the combined score) */
#define INLIER_PX 3.0f      /* reprojection tolerance (working pixels) */
#define MIN_BASE2 36.0f     /* squared length of a hypothesis' base (points too close: noisy) */
#define SCALE_MIN 0.4f
#define SCALE_MAX 2.5f
#define ANGLE_MAX 0.61f     /* radians, 35 degrees */

/* Nearest product keypoint of each photo keypoint under the distance cap: pairs into
 * (px,py) -> (qx,qy); returns their number. */
HOT static int nearest_pairs(const keypoints_t *photo, const keypoints_t *product, float *px, float *py, float *qx,
                             float *qy, int *qi)
{
    int m = 0;
    /* counts come from stored blobs: never trust them past the arrays */
    int nq = photo->n < KP_MAX ? photo->n : KP_MAX, np = product->n < KP_MAX ? product->n : KP_MAX;
    for (int i = 0; i < nq; i++) {
        int bd[KNN], bj[KNN];
        for (int k = 0; k < KNN; k++) bd[k] = MAX_DIST + 1, bj[k] = -1;
        for (int j = 0; j < np; j++) {
            int d = keypoints_distance(photo->d[i], product->d[j]);
            if (d >= bd[KNN - 1]) continue;
            int k = KNN - 1;
            while (k > 0 && bd[k - 1] > d) { bd[k] = bd[k - 1]; bj[k] = bj[k - 1]; k--; }
            bd[k] = d;
            bj[k] = j;
        }
        for (int k = 0; k < KNN && bj[k] >= 0; k++) {
            qx[m] = photo->xy[i][0] / 8.0f;
            qy[m] = photo->xy[i][1] / 8.0f;
            px[m] = product->xy[bj[k]][0] / 8.0f;
            py[m] = product->xy[bj[k]][1] / 8.0f;
            qi[m] = i;
            m++;
        }
    }
    return m;
}

int recog_local_match(const keypoints_t *photo, const keypoints_t *product, recog_local_t *r)
{
    memset(r, 0, sizeof *r);
    float px[KP_MAX * KNN], py[KP_MAX * KNN], qx[KP_MAX * KNN], qy[KP_MAX * KNN];
    int qi[KP_MAX * KNN];
    int m = nearest_pairs(photo, product, px, py, qx, qy, qi);
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
        /* a photo keypoint counts once, however many of its pairs fit */
        int cnt = 0, last = -1;
        for (int k = 0; k < m; k++) {
            if (qi[k] == last) continue;
            float ux = px[k] - px[a], uy = py[k] - py[a];
            float ex = qx[a] + za * ux - zb * uy - qx[k], ey = qy[a] + zb * ux + za * uy - qy[k];
            if (ex * ex + ey * ey < tol2) { cnt++; last = qi[k]; }
        }
        if (cnt > best) { best = cnt; r->scale = sc; r->angle = an; }
    }
    r->inliers = best;
    return best;
}
