/* intake.h — everything Rodeo learns from one uploaded photo, in one call.
 *
 * The HTTP layer streams the upload to a size-capped temp file and calls
 * vision_intake_file(); the verdict tells it what to answer (status + code + message), the
 * rest feeds recognition and the upload record. Pipeline (one pass over the bytes):
 *   map file -> SHA-256 -> magic-byte format -> header (dimensions, pixel cap BEFORE any
 *   pixel is decoded, minimum size) -> EXIF -> decode (JPEG at the smallest DCT scale that
 *   still covers the model input and the thumbnail, written upright per EXIF orientation;
 *   large PNGs box-reduced while streaming) -> resize shortest side to
 *   input_size + centre crop (Pillow-exact resampling, default bicubic) -> normalised
 *   float32 CHW tensor; pHash and thumbnail come from the same reduced decode.
 * Thread-safe: no shared state; each call owns its result. The file must not be truncated
 * while the call runs (it is mapped; the HTTP layer's finished temp file is fine).
 *
 * Intended use by the upload handler:
 *     vision_intake_options_t o; vision_intake_options_default(&o);
 *     o.consent = consent_to_fingerprinting;
 *     vision_intake_t r;
 *     if (vision_intake_file(part->path, &o, &r) != 0)
 *         -> answer r.error.status with {"detail": r.error.message, "code": r.error.code}
 *     else
 *         blob_put_file(store, r.sha256, part->path, ...)  (content-addressed, idempotent)
 *         near-duplicate check: vision_dupindex_query(ix, r.phash, threshold, ...)
 *         recognition: r.tensor (CLIP), r.thumb (classic features)
 *         record: r.sha256, r.phash, r.exif_json, r.device_id (consent only), r.t
 *     vision_intake_free(&r); */
#ifndef RODEO_VISION_INTAKE_H
#define RODEO_VISION_INTAKE_H
#include <stddef.h>
#include <stdint.h>
#include "vision/format.h"
#include "vision/image.h"

typedef struct {
    int consent;                /* consent_to_fingerprinting: GPS, serials, device id */
    int input_size;             /* model input side (224) */
    float mean[3], std[3];      /* per-channel normalisation (CLIP's by default) */
    vision_filter_t filter;     /* tensor resize filter (bicubic by default, as CLIP) */
    int min_side;               /* reject smaller images (200) */
    uint64_t max_pixels;        /* header pixel cap (50 MP) */
    size_t max_file_bytes;      /* reject larger files (10 MiB) */
    size_t max_decoder_bytes;   /* JPEG decoder working memory cap (256 MiB) */
    int max_scans;              /* progressive JPEG scan cap (1000) */
    int thumb_size;             /* thumbnail longest side (256); 0 = no thumbnail */
    const char *sha256;         /* the bytes' SHA-256 (64 hex) when the caller already took it
                                 * (an upload hashed as it streamed); NULL: intake hashes them */
} vision_intake_options_t;

/* Microseconds per stage (monotonic clock). */
typedef struct {
    int64_t read_us;     /* open + map */
    int64_t sha256_us;
    int64_t header_us;   /* sniff + header parse + limit checks */
    int64_t exif_us;     /* EXIF parse, JSON, fingerprint */
    int64_t decode_us;   /* includes applying the EXIF orientation */
    int64_t tensor_us;   /* resize + crop + normalise */
    int64_t phash_us;
    int64_t thumb_us;
    int64_t total_us;
} vision_timings_t;

typedef struct {
    vision_error_t error;          /* status 0 when accepted */
    vision_format_t format;
    size_t file_bytes;
    int width, height;             /* as stored in the file */
    int orientation;               /* EXIF orientation applied (1 when none) */
    int oriented_width, oriented_height;  /* full-size dimensions as displayed */
    int decode_width, decode_height, scale_denom;  /* the reduced decode, before orientation */
    char sha256[65];               /* of the file bytes; set whenever the file was read */
    uint64_t phash;                /* of the upright reduced decode (the original Python hashed
                                    * the un-rotated full image); store as BIGINT (cast) */
    char phash_hex[17];
    char *exif_json;               /* summary JSON (see exif.h for the privacy policy) */
    char device_id[65];            /* "" unless consent and identifying EXIF fields */
    float *tensor;                 /* 3 * tensor_size^2 floats, CHW, RGB order */
    int tensor_size;
    vision_image_t thumb;          /* RGB, longest side <= thumb_size, oriented */
    vision_timings_t t;
} vision_intake_t;

void vision_intake_options_default(vision_intake_options_t *o);

/* Runs the pipeline on the file at path. Returns 0 when the photo was accepted (every
 * field filled), -1 when rejected: out->error has status 400/413/415 (or 500 io_error /
 * internal_error) with code and message. Always call vision_intake_free() afterwards. */
int  vision_intake_file(const char *path, const vision_intake_options_t *opt, vision_intake_t *out);
/* Same on bytes in memory (data must stay valid during the call). */
int  vision_intake_bytes(const uint8_t *data, size_t len, const vision_intake_options_t *opt,
                         vision_intake_t *out);
void vision_intake_free(vision_intake_t *r);

/* The result as compact JSON (caller frees), for logs, the CLI and upload records:
 * accepted: {"ok":true,"format","width","height","orientation","oriented_width",
 * "oriented_height","decode":{"width","height","scale"},"bytes","sha256","phash",
 * "device_id" (only when set),"exif":{...},"timings_us":{...}}; rejected:
 * {"ok":false,"status","code","detail","format","bytes","sha256" (when read)}. */
char *vision_intake_to_json(const vision_intake_t *r);

/* Size of the shortest-side resize for an image of w x h (before the centre crop):
 * the shorter side becomes size, the longer one round(longer * size / shorter). */
void vision_intake_resize_dims(int w, int h, int size, int *out_w, int *out_h);
#endif
