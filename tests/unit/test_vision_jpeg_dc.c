/* test_vision_jpeg_dc.c — the DC-only 1/8 JPEG decoder (src/vision/jpeg_dc.c) against
 * libjpeg-turbo's own 1/8 decode. JPEGs are made here with libjpeg's compressor
 * (photo-like content with plenty of AC energy) in every layout the decoder claims:
 * gray, 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, 3x1 and mixed chroma factors, restart
 * intervals, qualities 30..100, standard and optimised Huffman tables, odd sizes. The
 * output must equal libjpeg's byte for byte. Hostile input (truncation, bit flips, bad
 * tables, misplaced restart markers) must either decode exactly like libjpeg or be
 * handed back to libjpeg, and the whole intake must give the same verdict and tensor
 * with the fast path on and off. */
#include "test.h"
#include "vision/intake.h"
#include "vision/jpeg_dc.h"
#include "vision/jpeg_mcu.h"
#include <setjmp.h>
#include <stdlib.h>

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
    int warnings;
} err_t;

static void err_exit(j_common_ptr ci) { longjmp(((err_t *)ci->err)->jb, 1); }
static void err_emit(j_common_ptr ci, int level) { if (level < 0) ((err_t *)ci->err)->warnings++; }
static void err_output(j_common_ptr ci) { (void)ci; }

static uint32_t lcg(uint32_t *s) { *s = *s * 1664525u + 1013904223u; return *s >> 8; }

/* Photo-like pixels: gradients, a few hard edges, noise. */
static uint8_t *make_pixels(int w, int h, int comps, uint32_t seed)
{
    uint8_t *px = malloc((size_t)w * h * comps);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < comps; c++) {
                int v = 40 + (x * (60 + 30 * c)) / (w + 1) + (y * 90) / (h + 1);
                if (((x / 13) + (y / 7) + c) % 5 == 0) v += 60;
                v += (int)(lcg(&seed) % 41) - 20;
                px[((size_t)y * w + x) * comps + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    return px;
}

typedef struct {
    int w, h, comps;
    int samp[3][2];
    int quality, restart, optimize, progressive;
} enc_t;

/* A JPEG from libjpeg's compressor; caller frees. */
static uint8_t *encode(const enc_t *p, unsigned long *len, uint32_t seed)
{
    struct jpeg_compress_struct c;
    err_t e;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = err_exit;
    uint8_t *px = make_pixels(p->w, p->h, p->comps, seed);
    unsigned char *out = NULL;
    *len = 0;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&c);
        free(px);
        free(out);
        return NULL;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, len);
    c.image_width = (JDIMENSION)p->w;
    c.image_height = (JDIMENSION)p->h;
    c.input_components = p->comps;
    c.in_color_space = p->comps == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, p->quality, TRUE);
    if (p->comps == 3)
        for (int i = 0; i < 3; i++) {
            c.comp_info[i].h_samp_factor = p->samp[i][0];
            c.comp_info[i].v_samp_factor = p->samp[i][1];
        }
    c.restart_interval = (unsigned)p->restart;
    c.optimize_coding = p->optimize ? TRUE : FALSE;
    if (p->progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = px + (size_t)c.next_scanline * p->w * p->comps;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(px);
    return out;
}

/* libjpeg's RGB decode at 1/denom, with our MCU decoder standing in for its Huffman
 * decoder when hook is set (*hooked says whether it took the file); 0 and the image, -1
 * when libjpeg fails, 1 when the hook declined the stream. */
static int scaled_decode(const uint8_t *d, size_t n, int denom, int hook, int *hooked,
                         vision_image_t *im, int *warnings)
{
    struct jpeg_decompress_struct ci;
    err_t e;
    vision_jpeg_mcu_hook_t *volatile h = NULL;
    ci.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = err_exit;
    e.mgr.emit_message = err_emit;
    e.mgr.output_message = err_output;
    e.warnings = 0;
    if (setjmp(e.jb)) {
        int declined = vision_jpeg_mcu_hook_failed(h);
        vision_jpeg_mcu_hook_release(&ci, h);
        jpeg_destroy_decompress(&ci);
        vision_image_free(im);
        return declined ? 1 : -1;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, d, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    ci.scale_num = 1;
    ci.scale_denom = (unsigned)denom;
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    if (hook) h = vision_jpeg_mcu_hook_install(&ci);
    if (hooked) *hooked = h != NULL;
    if (vision_image_alloc(im, (int)ci.output_width, (int)ci.output_height, 3) != 0) longjmp(e.jb, 1);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW r = im->px + (size_t)ci.output_scanline * im->w * 3;
        jpeg_read_scanlines(&ci, &r, 1);
    }
    *warnings = e.warnings;
    vision_jpeg_mcu_hook_release(&ci, h);
    jpeg_destroy_decompress(&ci);
    return 0;
}

/* libjpeg's own 1/8 RGB decode; 0 and the image, or -1 when libjpeg fails. */
static int ref_decode(const uint8_t *d, size_t n, vision_image_t *im, int *warnings)
{
    struct jpeg_decompress_struct ci;
    err_t e;
    ci.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = err_exit;
    e.mgr.emit_message = err_emit;
    e.mgr.output_message = err_output;
    e.warnings = 0;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&ci);
        vision_image_free(im);
        return -1;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, d, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    ci.scale_num = 1;
    ci.scale_denom = 8;
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    if (vision_image_alloc(im, (int)ci.output_width, (int)ci.output_height, 3) != 0) longjmp(e.jb, 1);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW r = im->px + (size_t)ci.output_scanline * im->w * 3;
        jpeg_read_scanlines(&ci, &r, 1);
    }
    *warnings = e.warnings;
    jpeg_destroy_decompress(&ci);
    return 0;
}

/* Our decoder on the same bytes; returns its code (-2 when libjpeg's header parse fails). */
static int dc_decode(const uint8_t *d, size_t n, int orientation, vision_image_t *im)
{
    struct jpeg_decompress_struct ci;
    err_t e;
    ci.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = err_exit;
    e.mgr.emit_message = err_emit;
    e.mgr.output_message = err_output;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&ci);
        return -2;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, d, (unsigned long)n);
    jpeg_read_header(&ci, TRUE);
    ci.scale_num = 1;
    ci.scale_denom = 8;
    ci.out_color_space = JCS_RGB;
    int rc = vision_jpeg_dc_decode(&ci, orientation, im);
    jpeg_destroy_decompress(&ci);
    return rc;
}

static int same_image(const vision_image_t *a, const vision_image_t *b)
{
    return a->w == b->w && a->h == b->h && a->c == b->c &&
           !memcmp(a->px, b->px, (size_t)a->w * a->h * a->c);
}

static const enc_t layouts[] = {
    /* w, h, comps, sampling (Y, Cb, Cr), quality, restart, optimize, progressive */
    {640, 480, 3, {{2, 2}, {1, 1}, {1, 1}}, 90, 0, 0, 0},      /* 4:2:0, the phone case */
    {637, 479, 3, {{2, 2}, {1, 1}, {1, 1}}, 75, 0, 1, 0},      /* odd size, optimised tables */
    {500, 333, 3, {{1, 1}, {1, 1}, {1, 1}}, 95, 0, 0, 0},      /* 4:4:4 */
    {401, 299, 3, {{2, 1}, {1, 1}, {1, 1}}, 85, 3, 0, 0},      /* 4:2:2 + restarts */
    {300, 410, 3, {{1, 2}, {1, 1}, {1, 1}}, 80, 0, 0, 0},      /* 4:4:0 */
    {515, 203, 3, {{4, 1}, {1, 1}, {1, 1}}, 90, 0, 1, 0},      /* 4:1:1 */
    {333, 222, 3, {{3, 1}, {1, 1}, {1, 1}}, 90, 0, 0, 0},      /* 3x horizontal */
    {352, 288, 3, {{2, 2}, {1, 1}, {2, 1}}, 90, 5, 0, 0},      /* mixed chroma factors */
    {200, 150, 1, {{1, 1}, {1, 1}, {1, 1}}, 90, 0, 0, 0},      /* gray */
    {203, 157, 1, {{1, 1}, {1, 1}, {1, 1}}, 60, 7, 1, 0},      /* gray, restarts, optimised */
    {640, 480, 3, {{2, 2}, {1, 1}, {1, 1}}, 100, 1, 0, 0},     /* q100: long codes, big DCs */
    {640, 480, 3, {{2, 2}, {1, 1}, {1, 1}}, 30, 2, 0, 0},      /* coarse quantisation */
    {9, 8, 3, {{2, 2}, {1, 1}, {1, 1}}, 90, 0, 0, 0},          /* smaller than one MCU */
    {1, 1, 3, {{1, 1}, {1, 1}, {1, 1}}, 90, 0, 0, 0},
    {1601, 1203, 3, {{2, 2}, {1, 1}, {1, 1}}, 92, 0, 0, 0},    /* a larger photo */
};

TEST(vision_jpeg_dc_matches_libjpeg)
{
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        unsigned long n;
        uint8_t *jpg = encode(&layouts[i], &n, 17 + (uint32_t)i);
        REQUIRE(jpg);
        vision_image_t ref = {0}, got = {0};
        int warn = -1;
        REQUIRE(ref_decode(jpg, n, &ref, &warn) == 0);
        int rc = dc_decode(jpg, n, 1, &got);
        if (rc != JPEG_DC_OK || !same_image(&ref, &got)) {
            long diff = 0;
            if (rc == JPEG_DC_OK && got.w == ref.w && got.h == ref.h)
                for (long k = 0; k < (long)ref.w * ref.h * 3; k++) diff += ref.px[k] != got.px[k];
            test_fail(__FILE__, __LINE__, "layout %zu (%dx%d q%d): rc %d, %dx%d vs %dx%d, %ld bytes differ",
                      i, layouts[i].w, layouts[i].h, layouts[i].quality, rc, got.w, got.h, ref.w, ref.h, diff);
        }
        CHECK_INT(warn, 0);
        vision_image_free(&ref);
        vision_image_free(&got);
        free(jpg);
    }
}

TEST(vision_jpeg_mcu_hook_matches_libjpeg)
{
    static const int denoms[] = {1, 2, 4};
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts; i++) {
        unsigned long n;
        uint8_t *jpg = encode(&layouts[i], &n, 41 + (uint32_t)i);
        REQUIRE(jpg);
        for (size_t k = 0; k < sizeof denoms / sizeof *denoms; k++) {
            vision_image_t ref = {0}, got = {0};
            int w1 = -1, w2 = -1, hooked = 0;
            REQUIRE(scaled_decode(jpg, n, denoms[k], 0, NULL, &ref, &w1) == 0);
            int rc = scaled_decode(jpg, n, denoms[k], 1, &hooked, &got, &w2);
            if (rc != 0 || !hooked || !same_image(&ref, &got))
                test_fail(__FILE__, __LINE__, "layout %zu at 1/%d: rc %d hooked %d same %d", i,
                          denoms[k], rc, hooked, rc == 0 && same_image(&ref, &got));
            CHECK_INT(w1, 0);
            CHECK_INT(w2, 0);
            vision_image_free(&ref);
            vision_image_free(&got);
        }
        free(jpg);
    }
}

TEST(vision_jpeg_dc_orientation_matches_rotated_reference)
{
    unsigned long n;
    uint8_t *jpg = encode(&layouts[3], &n, 5);
    REQUIRE(jpg);
    for (int o = 1; o <= 8; o++) {
        vision_image_t ref = {0}, got = {0};
        int warn;
        REQUIRE(ref_decode(jpg, n, &ref, &warn) == 0);
        REQUIRE(vision_image_orient(&ref, o) == 0);
        CHECK_INT(dc_decode(jpg, n, o, &got), JPEG_DC_OK);
        if (!same_image(&ref, &got)) test_fail(__FILE__, __LINE__, "orientation %d differs", o);
        vision_image_free(&ref);
        vision_image_free(&got);
    }
    free(jpg);
}

TEST(vision_jpeg_dc_leaves_other_files_to_libjpeg)
{
    enc_t p = layouts[0];
    p.progressive = 1;
    unsigned long n;
    uint8_t *jpg = encode(&p, &n, 3);
    REQUIRE(jpg);
    vision_image_t got = {0};
    CHECK_INT(dc_decode(jpg, n, 1, &got), JPEG_DC_UNSUPPORTED);
    CHECK(got.px == NULL);
    free(jpg);
}

/* The whole intake with the fast path on and off: same verdict, same tensor. */
static int intake_agrees_at(const uint8_t *d, size_t n, int input_size, int *accepted)
{
    vision_intake_options_t o;
    vision_intake_options_default(&o);
    o.min_side = 8;
    o.input_size = input_size;
    o.thumb_size = 8;
    vision_intake_t a, b;
    vision_jpeg_dc_enable(1);
    int ra = vision_intake_bytes(d, n, &o, &a);
    vision_jpeg_dc_enable(0);
    int rb = vision_intake_bytes(d, n, &o, &b);
    vision_jpeg_dc_enable(1);
    int same = ra == rb && a.error.status == b.error.status && !strcmp(a.error.code, b.error.code);
    if (same && ra == 0)
        same = a.scale_denom == b.scale_denom && a.tensor_size == b.tensor_size &&
               !memcmp(a.tensor, b.tensor, sizeof(float) * 3 * a.tensor_size * a.tensor_size) &&
               !strcmp(a.phash_hex, b.phash_hex);
    *accepted = ra == 0;
    vision_intake_free(&a);
    vision_intake_free(&b);
    return same;
}

/* At the three decode scales intake uses for these sizes: 1/8 (our DC decoder), 1/2
 * (our MCU decoder inside libjpeg) and 1/1. */
static int intake_agrees(const uint8_t *d, size_t n, int min_dim, int *accepted)
{
    int a8, a2, a1;
    int same = intake_agrees_at(d, n, min_dim / 9, &a8) & intake_agrees_at(d, n, min_dim * 3 / 8, &a2) &
               intake_agrees_at(d, n, min_dim * 5 / 8, &a1);
    *accepted = a8;
    return same;
}

/* Offset of the first byte after the SOS segment (the entropy data), or 0. */
static size_t entropy_start(const uint8_t *d, size_t n)
{
    size_t i = 2;
    while (i + 4 <= n && d[i] == 0xFF) {
        size_t seg = (size_t)d[i + 2] << 8 | d[i + 3];
        if (d[i + 1] == 0xDA) return i + 2 + seg;
        i += 2 + seg;
    }
    return 0;
}

/* Offset of the first marker segment of the given type, or 0. */
static size_t find_segment(const uint8_t *d, size_t n, int marker)
{
    size_t i = 2;
    while (i + 4 <= n && d[i] == 0xFF && d[i + 1] != 0xDA) {
        if (d[i + 1] == marker) return i;
        i += 2 + ((size_t)d[i + 2] << 8 | d[i + 3]);
    }
    return 0;
}

/* Hostile variants of f, each checked both ways: the fast decoder either declines or
 * matches libjpeg exactly (and libjpeg saw nothing wrong), and the intake agrees. */
static void check_variant(const uint8_t *d, size_t n, int min_dim, int *ok, int *declined, int *bad)
{
    vision_image_t ref = {0}, got = {0};
    int warn = 0, accepted;
    int rc = dc_decode(d, n, 1, &got);
    if (rc == JPEG_DC_OK) {
        (*ok)++;
        if (ref_decode(d, n, &ref, &warn) != 0 || !same_image(&ref, &got)) (*bad)++;
    } else {
        (*declined)++;
    }
    vision_image_free(&ref);
    vision_image_free(&got);
    /* The MCU decoder at 1/2: when it gets through, libjpeg alone gives the same picture. */
    if (scaled_decode(d, n, 2, 1, NULL, &got, &warn) == 0 &&
        (scaled_decode(d, n, 2, 0, NULL, &ref, &warn) != 0 || !same_image(&ref, &got)))
        (*bad)++;
    vision_image_free(&ref);
    vision_image_free(&got);
    if (!intake_agrees(d, n, min_dim, &accepted)) (*bad)++;
}

TEST(vision_jpeg_dc_hostile_truncation)
{
    static const int which[] = {0, 3, 9};
    for (size_t w = 0; w < sizeof which / sizeof *which; w++) {
        unsigned long n;
        uint8_t *jpg = encode(&layouts[which[w]], &n, 11);
        REQUIRE(jpg);
        size_t es = entropy_start(jpg, n);
        REQUIRE(es > 0 && es < n);
        int ok = 0, declined = 0, bad = 0;
        int md = layouts[which[w]].w < layouts[which[w]].h ? layouts[which[w]].w : layouts[which[w]].h;
        /* Every cut inside the headers is libjpeg's business; cuts inside the data and
         * around its end are ours: 0..16 bytes short, then spread over the stream. */
        for (size_t cut = 1; cut <= 16; cut++) check_variant(jpg, n - cut, md, &ok, &declined, &bad);
        for (size_t cut = es; cut < n; cut += (n - es) / 40 + 1) check_variant(jpg, cut, md, &ok, &declined, &bad);
        check_variant(jpg, es - 3, md, &ok, &declined, &bad);
        CHECK_INT(bad, 0);
        CHECK(declined > 0);
        /* Only the trailing EOI may go without changing the picture. */
        CHECK(ok <= 2);
        free(jpg);
    }
}

TEST(vision_jpeg_dc_hostile_bit_flips)
{
    static const int which[] = {0, 3, 7, 9, 10};
    uint32_t seed = 4242;
    int ok = 0, declined = 0, bad = 0;
    for (size_t w = 0; w < sizeof which / sizeof *which; w++) {
        unsigned long n;
        uint8_t *jpg = encode(&layouts[which[w]], &n, 23);
        REQUIRE(jpg);
        size_t es = entropy_start(jpg, n);
        REQUIRE(es > 0);
        int md = layouts[which[w]].w < layouts[which[w]].h ? layouts[which[w]].w : layouts[which[w]].h;
        uint8_t *m = malloc(n);
        for (int round = 0; round < 60; round++) {
            memcpy(m, jpg, n);
            int flips = 1 + (int)(lcg(&seed) % 4);
            for (int f = 0; f < flips; f++) {
                size_t at = es + lcg(&seed) % (n - es);
                if (round % 3 == 0) m[at] = (uint8_t)lcg(&seed);        /* random byte */
                else if (round % 3 == 1) m[at] ^= (uint8_t)(1u << (lcg(&seed) % 8));
                else m[at] = 0xFF;                                       /* a fake marker */
            }
            check_variant(m, n, md, &ok, &declined, &bad);
        }
        free(m);
        free(jpg);
    }
    if (getenv("TEST_VERBOSE")) printf("    bit flips: %d decoded, %d declined\n", ok, declined);
    CHECK_INT(bad, 0);
    CHECK(declined > 0);
    CHECK(ok > 0);
}

TEST(vision_jpeg_dc_hostile_tables_and_restarts)
{
    unsigned long n;
    uint8_t *jpg = encode(&layouts[0], &n, 31);
    REQUIRE(jpg);
    uint8_t *m = malloc(n + 8);
    int ok = 0, declined = 0, bad = 0;
    size_t dht = find_segment(jpg, n, 0xC4);
    REQUIRE(dht > 0);
    /* First table in the DHT: class/id byte at +4, counts at +5..+20, symbols after. */
    size_t counts = dht + 5;
    int first = 0;
    while (first < 16 && jpg[counts + first] == 0) first++;
    REQUIRE(first < 15);

    /* Two codes of the shortest length where only one fits (an all-ones code). */
    memcpy(m, jpg, n);
    int need = (1 << (first + 1)) - m[counts + first];
    REQUIRE(m[counts + first + 1] >= need);
    m[counts + first] = (uint8_t)(m[counts + first] + need);
    m[counts + first + 1] = (uint8_t)(m[counts + first + 1] - need);
    vision_image_t got = {0};
    int rc = dc_decode(m, n, 1, &got);
    CHECK(rc != JPEG_DC_OK);
    vision_image_free(&got);
    check_variant(m, n, 480, &ok, &declined, &bad);

    /* A DC symbol above 15 (libjpeg refuses the table). */
    memcpy(m, jpg, n);
    m[dht + 21] = 16;
    CHECK(dc_decode(m, n, 1, &got) != JPEG_DC_OK);
    check_variant(m, n, 480, &ok, &declined, &bad);

    /* A restart interval declared but no markers in the data. */
    static const uint8_t dri[6] = {0xFF, 0xDD, 0x00, 0x04, 0x00, 0x02};
    memcpy(m, jpg, 2);
    memcpy(m + 2, dri, 6);
    memcpy(m + 8, jpg + 2, n - 2);
    CHECK(dc_decode(m, n + 6, 1, &got) != JPEG_DC_OK);
    check_variant(m, n + 6, 480, &ok, &declined, &bad);

    /* The largest interval, never reached: the picture is unchanged. */
    static const uint8_t dri_max[6] = {0xFF, 0xDD, 0x00, 0x04, 0xFF, 0xFF};
    memcpy(m + 2, dri_max, 6);
    vision_image_t ref = {0};
    int warn;
    REQUIRE(ref_decode(jpg, n, &ref, &warn) == 0);
    CHECK_INT(dc_decode(m, n + 6, 1, &got), JPEG_DC_OK);
    CHECK(same_image(&ref, &got));
    vision_image_free(&ref);
    vision_image_free(&got);
    free(jpg);

    /* Restart markers every MCU, then the DRI claims every other one; and a marker
     * renumbered out of sequence. */
    enc_t p = layouts[0];
    p.restart = 1;
    jpg = encode(&p, &n, 31);
    REQUIRE(jpg);
    free(m);
    m = malloc(n);
    size_t d = find_segment(jpg, n, 0xDD);
    REQUIRE(d > 0);
    memcpy(m, jpg, n);
    m[d + 5] = 2;
    CHECK(dc_decode(m, n, 1, &got) != JPEG_DC_OK);
    check_variant(m, n, 480, &ok, &declined, &bad);
    memcpy(m, jpg, n);
    size_t es = entropy_start(jpg, n);
    int renumbered = 0;
    for (size_t i = es + (n - es) / 2; i + 1 < n && !renumbered; i++)
        if (m[i] == 0xFF && m[i + 1] >= 0xD0 && m[i + 1] <= 0xD7) {
            m[i + 1] = (uint8_t)(0xD0 + ((m[i + 1] - 0xD0 + 3) & 7));
            renumbered = 1;
        }
    CHECK(renumbered);
    CHECK(dc_decode(m, n, 1, &got) != JPEG_DC_OK);
    check_variant(m, n, 480, &ok, &declined, &bad);
    free(jpg);
    free(m);
    CHECK_INT(bad, 0);
}
