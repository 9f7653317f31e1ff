/* exif.c — libexif does the TIFF/IFD parsing; this file only picks fields and applies the
 * privacy policy. Tags are read from the IFD they belong to (GPS tag numbers collide with
 * IFD0/interop tags, so a global lookup would be wrong). */
#include "vision/exif.h"
#include "core/buf.h"
#include "core/crypto.h"
#include <jansson.h>
#include <libexif/exif-data.h>
#include <math.h>
#include <string.h>

static void copy_ascii(ExifContent *ifd, ExifTag tag, char *out)
{
    out[0] = 0;
    ExifEntry *e = ifd ? exif_content_get_entry(ifd, tag) : NULL;
    if (!e || !e->data || e->format != EXIF_FORMAT_ASCII) return;
    size_t n = e->size < VISION_EXIF_STR - 1 ? e->size : VISION_EXIF_STR - 1, j = 0;
    for (size_t i = 0; i < n && e->data[i]; i++) {
        unsigned char ch = e->data[i];
        out[j++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    while (j > 0 && out[j - 1] == ' ') j--;
    out[j] = 0;
    size_t lead = strspn(out, " ");
    if (lead) memmove(out, out + lead, j - lead + 1);
}

static int get_short(ExifContent *ifd, ExifTag tag, ExifByteOrder bo, int *out)
{
    ExifEntry *e = ifd ? exif_content_get_entry(ifd, tag) : NULL;
    if (!e || !e->data || e->components < 1) return -1;
    if (e->format == EXIF_FORMAT_SHORT && e->size >= 2) { *out = exif_get_short(e->data, bo); return 0; }
    if (e->format == EXIF_FORMAT_LONG && e->size >= 4) { *out = (int)exif_get_long(e->data, bo); return 0; }
    return -1;
}

/* i-th RATIONAL of an entry as a double; -1 when missing, mistyped or zero denominator. */
static int get_rational(ExifContent *ifd, ExifTag tag, ExifByteOrder bo, unsigned i, double *out)
{
    ExifEntry *e = ifd ? exif_content_get_entry(ifd, tag) : NULL;
    if (!e || !e->data || e->format != EXIF_FORMAT_RATIONAL || e->components <= i ||
        e->size < 8 * (i + 1))
        return -1;
    ExifRational r = exif_get_rational(e->data + 8 * i, bo);
    if (r.denominator == 0) return -1;
    *out = (double)r.numerator / r.denominator;
    return 0;
}

static int get_dms(ExifContent *gps, ExifTag tag, ExifTag ref_tag, ExifByteOrder bo, char neg,
                   double *out)
{
    double d, m, s;
    if (get_rational(gps, tag, bo, 0, &d) || get_rational(gps, tag, bo, 1, &m) ||
        get_rational(gps, tag, bo, 2, &s))
        return -1;
    char ref[8];
    copy_ascii(gps, ref_tag, ref);
    double v = d + m / 60.0 + s / 3600.0;
    *out = (ref[0] == neg) ? -v : v;
    return 0;
}

void vision_exif_parse(const uint8_t *data, size_t len, vision_exif_t *out)
{
    memset(out, 0, sizeof *out);
    if (!data || len < 14) return;
    ExifData *ed = exif_data_new();
    if (!ed) return;
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, data, (unsigned)(len > 0xFFFFFFu ? 0xFFFFFFu : len));
    ExifByteOrder bo = exif_data_get_byte_order(ed);
    ExifContent *i0 = ed->ifd[EXIF_IFD_0], *ix = ed->ifd[EXIF_IFD_EXIF], *gps = ed->ifd[EXIF_IFD_GPS];
    out->present = (i0 && i0->count) || (ix && ix->count) || (gps && gps->count);
    copy_ascii(i0, EXIF_TAG_MAKE, out->make);
    copy_ascii(i0, EXIF_TAG_MODEL, out->model);
    copy_ascii(i0, EXIF_TAG_SOFTWARE, out->software);
    copy_ascii(ix, EXIF_TAG_DATE_TIME_ORIGINAL, out->datetime_original);
    if (!out->datetime_original[0]) copy_ascii(i0, EXIF_TAG_DATE_TIME, out->datetime_original);
    copy_ascii(ix, EXIF_TAG_LENS_MAKE, out->lens_make);
    copy_ascii(ix, EXIF_TAG_LENS_MODEL, out->lens_model);
    copy_ascii(ix, EXIF_TAG_BODY_SERIAL_NUMBER, out->body_serial);
    copy_ascii(ix, EXIF_TAG_LENS_SERIAL_NUMBER, out->lens_serial);
    copy_ascii(ix, EXIF_TAG_CAMERA_OWNER_NAME, out->owner);
    int o = 0;
    if (get_short(i0, EXIF_TAG_ORIENTATION, bo, &o) == 0 && o >= 1 && o <= 8) out->orientation = o;
    double v;
    if (get_rational(ix, EXIF_TAG_FOCAL_LENGTH, bo, 0, &v) == 0) out->focal_length = v;
    if (get_rational(ix, EXIF_TAG_FNUMBER, bo, 0, &v) == 0) out->f_number = v;
    int iso = 0;
    if (get_short(ix, EXIF_TAG_ISO_SPEED_RATINGS, bo, &iso) == 0 && iso > 0) out->iso = iso;
    double lat, lon;
    if (get_dms(gps, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LATITUDE_REF, bo, 'S', &lat) == 0 &&
        get_dms(gps, EXIF_TAG_GPS_LONGITUDE, EXIF_TAG_GPS_LONGITUDE_REF, bo, 'W', &lon) == 0 &&
        fabs(lat) <= 90.0 && fabs(lon) <= 180.0) {
        out->has_gps = 1;
        out->latitude = lat;
        out->longitude = lon;
        if (get_rational(gps, EXIF_TAG_GPS_ALTITUDE, bo, 0, &v) == 0) {
            ExifEntry *r = exif_content_get_entry(gps, EXIF_TAG_GPS_ALTITUDE_REF);
            int below = r && r->data && r->size >= 1 && r->data[0] == 1;
            out->has_altitude = 1;
            out->altitude = below ? -v : v;
        }
    }
    exif_data_unref(ed);
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && v[0]) json_object_set_new(o, k, json_string(v));
}

char *vision_exif_to_json(const vision_exif_t *ex, int consent, const char *format, int width,
                          int height)
{
    json_t *o = json_object();
    set_str(o, "format", format);
    json_object_set_new(o, "width", json_integer(width));
    json_object_set_new(o, "height", json_integer(height));
    set_str(o, "camera_make", ex->make);
    set_str(o, "camera_model", ex->model);
    set_str(o, "software", ex->software);
    set_str(o, "lens_make", ex->lens_make);
    set_str(o, "lens_model", ex->lens_model);
    set_str(o, "datetime_original", ex->datetime_original);
    if (ex->orientation) json_object_set_new(o, "orientation", json_integer(ex->orientation));
    if (ex->focal_length > 0) json_object_set_new(o, "focal_length", json_real(ex->focal_length));
    if (ex->f_number > 0) json_object_set_new(o, "f_number", json_real(ex->f_number));
    if (ex->iso > 0) json_object_set_new(o, "iso", json_integer(ex->iso));
    if (consent) {
        set_str(o, "body_serial", ex->body_serial);
        set_str(o, "lens_serial", ex->lens_serial);
        set_str(o, "camera_owner", ex->owner);
        if (ex->has_gps) {
            json_t *g = json_object();
            json_object_set_new(g, "latitude", json_real(ex->latitude));
            json_object_set_new(g, "longitude", json_real(ex->longitude));
            if (ex->has_altitude) json_object_set_new(g, "altitude", json_real(ex->altitude));
            json_object_set_new(o, "gps", g);
        }
    } else if (ex->has_gps) {
        json_object_set_new(o, "gps_withheld", json_true());
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    return s ? s : xstrdup("{}");
}

int vision_exif_fingerprint(const vision_exif_t *ex, char out[65])
{
    out[0] = 0;
    if (!ex->make[0] && !ex->model[0] && !ex->body_serial[0] && !ex->lens_serial[0] && !ex->owner[0])
        return -1;
    buf_t b = {0};
    const char *parts[] = {"rodeo-device-v1", ex->make, ex->model, ex->body_serial,
                           ex->lens_serial, ex->owner};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) buf_append(&b, parts[i], strlen(parts[i]) + 1);
    sha256_hex(b.data, b.len, out);
    buf_free(&b);
    return 0;
}
