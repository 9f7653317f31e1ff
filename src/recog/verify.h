/* verify.h — geometric verification of a match candidate, the second stage of classic
 * recognition. The vector search (features.h) is fast but global: clutter and occluders
 * leak into its histograms. Verification asks a sharper question of the few candidates it
 * returns: is there a similarity transform (rotation within +-15 degrees, scale, shift) that
 * lays the catalog product's foreground pixels over the photo with the right colours, up to
 * one brightness/contrast change, and do the silhouette's edges reappear there? Pixels
 * hidden by an occluder cost a bounded penalty and clutter outside the product's silhouette
 * costs nothing; the edge check keeps a same-coloured product of another outline from
 * scoring as well as the right one.
 *
 * Thread-safe, no allocation. About 350-400 us per candidate (thread CPU time, the project's EPYC). */
#ifndef RODEO_RECOG_VERIFY_H
#define RODEO_RECOG_VERIFY_H
#include "vision/features.h"

/* Score in [0, 1]: 1 when the product's pixels reappear exactly in the photo, near 0 for
 * an unrelated product. Returns 0 when the product template has no foreground. */
float recog_verify(const features_template_t *photo, const features_template_t *product);

/* The same in two steps for many candidates: blur each template once (in place; the
 * engine keeps its catalog templates blurred), then score pairs of blurred templates. */
void  recog_verify_blur(features_template_t *t);
float recog_verify_blurred(const features_template_t *photo, const features_template_t *product);
#endif
