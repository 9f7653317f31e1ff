/* intake.c — the intake pipeline. The file is mapped, not read: hashing, EXIF and the
 * decoder all work from the page cache, so the only heap memory that scales with the
 * photo is the reduced decode (plus libjpeg's coefficient planes for progressive files). */
#include "vision/intake.h"
#include "vision/decode.h"
#include "vision/exif.h"
#include "vision/phash.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void vision_intake_options_default(vision_intake_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->input_size = 224;
    const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    memcpy(o->mean, mean, sizeof mean);
    memcpy(o->std, std, sizeof std);
    o->filter = VISION_FILTER_BICUBIC;
    o->min_side = 200;
    o->max_pixels = 50000000ull;
    o->max_file_bytes = 10u << 20;
    o->max_decoder_bytes = 256u << 20;
    o->max_scans = 1000;
    o->thumb_size = 256;
}

void vision_intake_resize_dims(int w, int h, int size, int *out_w, int *out_h)
{
    if (w <= h) {
        *out_w = size;
        *out_h = (int)((double)h * size / w + 0.5);
    } else {
        *out_h = size;
        *out_w = (int)((double)w * size / h + 0.5);
    }
    if (*out_w < size) *out_w = size;
    if (*out_h < size) *out_h = size;
}

/* Elapsed time since *mark, which is advanced to now. */
static int64_t lap(int64_t *mark)
{
    int64_t now = time_mono_us(), d = now - *mark;
    *mark = now;
    return d;
}

/* Resize + centre crop while the decoded image is alive; the caller frees the decoded
 * image before the float tensor is allocated (keeps the peak near 2x the decode). */
static int make_crop(const vision_image_t *im, const vision_intake_options_t *opt,
                     vision_image_t *crop)
{
    int S = opt->input_size, rw, rh;
    vision_intake_resize_dims(im->w, im->h, S, &rw, &rh);
    return vision_image_resample(im, rw, rh, (rw - S) / 2, (rh - S) / 2, S, S, opt->filter, crop);
}

static int make_tensor(const vision_image_t *crop, const vision_intake_options_t *opt,
                       vision_intake_t *r)
{
    int S = opt->input_size;
    r->tensor = malloc(sizeof(float) * 3 * (size_t)S * S);
    if (!r->tensor) return -1;
    vision_image_to_tensor(crop, opt->mean, opt->std, r->tensor);
    r->tensor_size = S;
    return 0;
}

static int make_thumb(const vision_image_t *im, int size, vision_image_t *out)
{
    int w = im->w, h = im->h;
    if (w > size || h > size) {
        if (w >= h) { h = (int)((double)h * size / w + 0.5); w = size; }
        else { w = (int)((double)w * size / h + 0.5); h = size; }
        if (w < 1) w = 1;
        if (h < 1) h = 1;
    }
    return vision_image_resample(im, w, h, 0, 0, w, h, VISION_FILTER_BILINEAR, out);
}

/* The pipeline after the bytes are in reach; r is zeroed except r->t.read_us. */
static int intake_run(const uint8_t *data, size_t len, const vision_intake_options_t *opt,
                      vision_intake_t *r)
{
    vision_intake_options_t defaults;
    if (!opt) { vision_intake_options_default(&defaults); opt = &defaults; }
    int64_t start = time_mono_us(), mark = start;
    int64_t read_us = r->t.read_us;
    vision_decoder_t dec = {0};
    vision_image_t im = {0}, crop = {0};
    int rc = -1;

    r->file_bytes = len;
    if (len == 0) {
        vision_error_set(&r->error, 400, "empty_file", "The file is empty");
        goto out;
    }
    if (opt->max_file_bytes && len > opt->max_file_bytes) {
        vision_error_set(&r->error, 413, "file_too_large", "File too large (%.1f MB). Max %.0f MB",
                         len / 1048576.0, opt->max_file_bytes / 1048576.0);
        goto out;
    }
    if (opt->input_size < 1 || opt->input_size > 4096) {
        vision_error_set(&r->error, 500, "internal_error", "Bad model input size %d", opt->input_size);
        goto out;
    }
    if (opt->sha256 && strlen(opt->sha256) == 64) memcpy(r->sha256, opt->sha256, 65);
    else sha256_hex(data, len, r->sha256);
    r->t.sha256_us = lap(&mark);

    r->format = vision_format_sniff(data, len);
    if (r->format == VISION_FORMAT_UNKNOWN) {
        vision_error_set(&r->error, 400, "invalid_image", "Invalid image file: not a JPEG, PNG or WEBP");
        goto out;
    }
    vision_decode_limits_t lim = {opt->max_pixels, opt->max_decoder_bytes, opt->max_scans};
    if (vision_decoder_open(&dec, r->format, data, len, &lim, &r->error) != 0) goto out;
    r->width = dec.width;
    r->height = dec.height;
    if (dec.width < opt->min_side || dec.height < opt->min_side) {
        vision_error_set(&r->error, 400, "too_small", "Image too small (%dx%d). Minimum %dx%dpx",
                         dec.width, dec.height, opt->min_side, opt->min_side);
        goto out;
    }
    r->t.header_us = lap(&mark);

    vision_exif_t ex;
    vision_exif_parse(dec.exif, dec.exif_len, &ex);
    r->orientation = ex.orientation ? ex.orientation : 1;
    r->exif_json = vision_exif_to_json(&ex, opt->consent, vision_format_name(r->format),
                                       dec.width, dec.height);
    if (opt->consent) vision_exif_fingerprint(&ex, r->device_id);
    int swap = r->orientation >= 5;
    r->oriented_width = swap ? dec.height : dec.width;
    r->oriented_height = swap ? dec.width : dec.height;
    r->t.exif_us = lap(&mark);

    /* Decoding includes orientation: JPEG rows are written upright as they come out of
     * libjpeg; other formats are rotated after decoding (timed as part of decode). */
    if (vision_decoder_decode(&dec, opt->input_size, opt->thumb_size, r->orientation, &im,
                              &r->error) != 0)
        goto out;
    r->decode_width = dec.decoded_width;
    r->decode_height = dec.decoded_height;
    r->scale_denom = dec.scale_denom;
    vision_decoder_close(&dec);
    r->t.decode_us = lap(&mark);
    /* Everything that reads the decoded image first, then free it, then the tensor. */
    if (vision_phash_image(&im, &r->phash, NULL) != 0) goto oom;
    vision_phash_hex(r->phash, r->phash_hex);
    r->t.phash_us = lap(&mark);
    if (opt->thumb_size > 0 && make_thumb(&im, opt->thumb_size, &r->thumb) != 0) goto oom;
    r->t.thumb_us = lap(&mark);
    if (make_crop(&im, opt, &crop) != 0) goto oom;
    vision_image_free(&im);
    if (make_tensor(&crop, opt, r) != 0) goto oom;
    r->t.tensor_us = lap(&mark);
    rc = 0;
    goto out;
oom:
    vision_error_set(&r->error, 500, "internal_error", "Out of memory while processing the image");
out:
    vision_decoder_close(&dec);
    vision_image_free(&im);
    vision_image_free(&crop);
    r->t.total_us = read_us + time_mono_us() - start;
    return rc;
}

int vision_intake_bytes(const uint8_t *data, size_t len, const vision_intake_options_t *opt,
                        vision_intake_t *r)
{
    memset(r, 0, sizeof *r);
    return intake_run(data, len, opt, r);
}

int vision_intake_file(const char *path, const vision_intake_options_t *opt, vision_intake_t *r)
{
    memset(r, 0, sizeof *r);
    int64_t start = time_mono_us();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vision_error_set(&r->error, 500, "io_error", "Cannot open the upload: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        vision_error_set(&r->error, 500, "io_error", "The upload is not a regular file");
        return -1;
    }
    size_t len = (size_t)st.st_size;
    size_t cap = opt ? opt->max_file_bytes : (10u << 20);
    if (len == 0 || (cap && len > cap)) {
        /* Let the common path produce the verdict without mapping anything. */
        close(fd);
        r->t.read_us = time_mono_us() - start;
        static const uint8_t none[1];
        if (len == 0) return intake_run(none, 0, opt, r);
        r->file_bytes = len;
        vision_error_set(&r->error, 413, "file_too_large", "File too large (%.1f MB). Max %.0f MB",
                         len / 1048576.0, cap / 1048576.0);
        return -1;
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        vision_error_set(&r->error, 500, "io_error", "Cannot map the upload: %s", strerror(errno));
        return -1;
    }
    r->t.read_us = time_mono_us() - start;
    int rc = intake_run(map, len, opt, r);
    munmap(map, len);
    return rc;
}

void vision_intake_free(vision_intake_t *r)
{
    free(r->exif_json);
    free(r->tensor);
    vision_image_free(&r->thumb);
    memset(r, 0, sizeof *r);
}

char *vision_intake_to_json(const vision_intake_t *r)
{
    json_t *o = json_object();
    int ok = r->error.status == 0 && r->tensor;
    json_object_set_new(o, "ok", json_boolean(ok));
    if (!ok) {
        json_object_set_new(o, "status", json_integer(r->error.status));
        json_object_set_new(o, "code", json_string(r->error.code));
        json_object_set_new(o, "detail", json_string(r->error.message));
    }
    json_object_set_new(o, "format", json_string(vision_format_name(r->format)));
    json_object_set_new(o, "bytes", json_integer((json_int_t)r->file_bytes));
    if (r->sha256[0]) json_object_set_new(o, "sha256", json_string(r->sha256));
    if (r->width) {
        json_object_set_new(o, "width", json_integer(r->width));
        json_object_set_new(o, "height", json_integer(r->height));
    }
    if (ok) {
        json_object_set_new(o, "orientation", json_integer(r->orientation));
        json_object_set_new(o, "oriented_width", json_integer(r->oriented_width));
        json_object_set_new(o, "oriented_height", json_integer(r->oriented_height));
        json_t *d = json_object();
        json_object_set_new(d, "width", json_integer(r->decode_width));
        json_object_set_new(d, "height", json_integer(r->decode_height));
        json_object_set_new(d, "scale", json_integer(r->scale_denom));
        json_object_set_new(o, "decode", d);
        json_object_set_new(o, "phash", json_string(r->phash_hex));
        if (r->device_id[0]) json_object_set_new(o, "device_id", json_string(r->device_id));
        json_error_t e;
        json_t *ex = r->exif_json ? json_loads(r->exif_json, 0, &e) : NULL;
        json_object_set_new(o, "exif", ex ? ex : json_object());
        const vision_timings_t *t = &r->t;
        json_t *tm = json_object();
        const struct { const char *k; int64_t v; } st[] = {
            {"read", t->read_us}, {"sha256", t->sha256_us}, {"header", t->header_us},
            {"exif", t->exif_us}, {"decode", t->decode_us}, {"phash", t->phash_us},
            {"thumbnail", t->thumb_us}, {"tensor", t->tensor_us}, {"total", t->total_us},
        };
        for (size_t i = 0; i < sizeof st / sizeof *st; i++)
            json_object_set_new(tm, st[i].k, json_integer(st[i].v));
        json_object_set_new(o, "timings_us", tm);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s ? s : xstrdup("{}");
}
