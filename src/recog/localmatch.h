/* localmatch.h — local-feature verification of a match candidate: how many of the
 * product's keypoints (vision/keypoints.h) reappear in the photo in one consistent
 * arrangement?
 *
 * Each photo keypoint is paired with its nearest product keypoint by descriptor (Hamming
 * distance under a cap); RANSAC over 2-point similarity transforms (rotation, one scale,
 * shift; rotation and scale within plausible bounds) then finds the largest set of pairs
 * that one transform explains. Clutter and occluders add or hide keypoints but cannot
 * create a geometrically consistent set, which is why this complements the global vector.
 *
 * Thread-safe, no allocation, deterministic (fixed pseudo-random sequence). */
#ifndef RODEO_RECOG_LOCALMATCH_H
#define RODEO_RECOG_LOCALMATCH_H
#include "vision/keypoints.h"

typedef struct {
    int matches;        /* descriptor pairs under the distance cap */
    int inliers;        /* pairs the best transform explains */
    float scale, angle; /* that transform (photo = scale * rot(angle) * product + shift) */
} recog_local_t;

/* Matches photo against product; fills r (zeros when fewer than 3 pairs) and returns the
 * inlier count. */
int recog_local_match(const keypoints_t *photo, const keypoints_t *product, recog_local_t *r);
#endif
