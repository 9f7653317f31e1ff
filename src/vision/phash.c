/* phash.c — only the 8x8 low-frequency DCT coefficients are needed, so the transform is
 * computed directly for those (8x32 then 8x8 dot products) instead of a full 32x32 DCT.
 * The DCT's constant scale factors do not change a comparison against the median, so
 * they are omitted. */
#include "vision/phash.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

uint64_t vision_phash_gray32(const uint8_t g[32 * 32])
{
    double c[8][32], t[8][32], d[64], sorted[64];
    for (int u = 0; u < 8; u++)
        for (int n = 0; n < 32; n++) c[u][n] = cos(M_PI * u * (2 * n + 1) / 64.0);
    /* t = DCT along axis 0 (columns), first 8 frequencies. */
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 32; x++) {
            double s = 0;
            for (int y = 0; y < 32; y++) s += c[u][y] * g[y * 32 + x];
            t[u][x] = s;
        }
    for (int u = 0; u < 8; u++)
        for (int v = 0; v < 8; v++) {
            double s = 0;
            for (int x = 0; x < 32; x++) s += t[u][x] * c[v][x];
            d[u * 8 + v] = s;
        }
    memcpy(sorted, d, sizeof d);
    qsort(sorted, 64, sizeof *sorted, cmp_double);
    double med = (sorted[31] + sorted[32]) / 2.0;
    uint64_t h = 0;
    for (int i = 0; i < 64; i++)
        if (d[i] > med) h |= (uint64_t)1 << (63 - i);
    return h;
}

int vision_phash_image(const vision_image_t *im, uint64_t *out, uint8_t gray32[32 * 32])
{
    vision_image_t gray = {0}, small = {0};
    const vision_image_t *g = im;
    if (!im->px || (im->c != 1 && im->c != 3)) return -1;
    if (im->c == 3) {
        if (vision_image_to_gray(im, &gray) != 0) return -1;
        g = &gray;
    }
    int rc = vision_image_resample(g, 32, 32, 0, 0, 32, 32, VISION_FILTER_LANCZOS, &small);
    vision_image_free(&gray);
    if (rc != 0) return -1;
    *out = vision_phash_gray32(small.px);
    if (gray32) memcpy(gray32, small.px, 32 * 32);
    vision_image_free(&small);
    return 0;
}

int vision_phash_distance(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

void vision_phash_hex(uint64_t h, char out[17])
{
    static const char hexd[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) out[i] = hexd[(h >> (60 - 4 * i)) & 15];
    out[16] = 0;
}

int vision_phash_parse(const char *hex, uint64_t *out)
{
    if (!hex || strlen(hex) != 16) return -1;
    uint64_t h = 0;
    for (int i = 0; i < 16; i++) {
        char ch = hex[i];
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (v < 0) return -1;
        h = h << 4 | (uint64_t)v;
    }
    *out = h;
    return 0;
}
