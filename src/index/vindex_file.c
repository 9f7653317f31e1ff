/* vindex_file.c — snapshot files: crash-safe save and mmap load with full verification.
 *
 * Format (little-endian, version 1). A 4096-byte header, then page-aligned sections:
 *   header: "RODEOVIX" | u32 version | u32 header bytes (4096)
 *           u32 dim, metric, m, ef_construction, ef_search, quant, flat_below, q_trained
 *           f32 q_scale | u32 q_train_n | u64 seed, rng, slots, live, dead, ep_packed,
 *           stride, code_off
 *           5 x { u64 offset, u64 length, u64 checksum }  sections below
 *           ... zero ... | u64 checksum of bytes [0, 4088) at offset 4088
 *   section 0 nodes:  slots x stride   level-0 records (state, links, code), as in memory
 *   section 1 meta:   slots x 32       id, attrs, state, level
 *   section 2 vec:    slots x dim f32  exact vectors (int8 collections only, else empty)
 *   section 3 upper:  for each slot with level > 0, level x (1 + m) u32 links
 *   section 4 qoff:   dim f32          int8 quantiser offsets
 * Slots are stored in the collection's current order: insertion order, or the locality order
 * of vindex_reorder (builds and `rodeo index optimize`). The order is not part of the format
 * (the id map is rebuilt from meta on load), so files of either order load the same way.
 * Save writes PATH.tmp, fsyncs it, renames it over PATH and fsyncs the directory, so PATH is
 * always either the old or the new complete snapshot. Load maps the file privately (pages
 * are shared with the page cache until written), checks every checksum and every graph link
 * (a file with valid checksums but hostile content must not crash a search), and builds the
 * id map. Any failure is reported with a reason; the caller then rebuilds from the store. */
#include "index/vindex_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAGIC "RODEOVIX"
#define FILE_VERSION 1u
#define HDR 4096
#define NSEC 5
#define PAGE 4096

typedef struct { uint64_t off, len, sum; } sec_t;

typedef struct {
    char magic[8];
    uint32_t version, header_bytes;
    uint32_t dim, metric, m, ef_construction, ef_search, quant, flat_below, q_trained;
    float q_scale; uint32_t q_train_n;   /* q_train_n: 0 in files written before it existed */
    uint64_t seed, rng, slots, live, dead, ep_packed, stride, code_off;
    sec_t sec[NSEC];
} fhdr_t;

/* ---- save ---- */
/* The file is written in whole WR_BLOCK blocks at offsets that are multiples of it. Why: the
 * page cache then holds it in 2 MiB folios, which vindex_load's mapping gets with 2 MiB
 * page-table entries; with 1 MiB writes (stdio) it got 4 KiB entries. A graph search over a
 * 1M-vector snapshot is bound by TLB misses: 2 MiB pages made it ~35 % faster there (see
 * bench/results/index.md, "1M"). */
#define WR_BLOCK ((size_t)4 << 20)
typedef struct { int fd; char *buf; size_t nbuf; vsum_t sum; uint64_t pos; int err; } wr_t;

static void wr_flush(wr_t *w)
{
    size_t off = 0;
    while (!w->err && off < w->nbuf) {
        ssize_t k = write(w->fd, w->buf + off, w->nbuf - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { w->err = errno ? errno : EIO; break; }
        off += (size_t)k;
    }
    w->nbuf = 0;
}

/* Buffers bytes without adding them to the section checksum. */
static void wr_raw(wr_t *w, const void *p, size_t n)
{
    const char *c = p;
    while (n && !w->err) {
        size_t k = WR_BLOCK - w->nbuf;
        if (k > n) k = n;
        memcpy(w->buf + w->nbuf, c, k);
        w->nbuf += k; c += k; n -= k;
        if (w->nbuf == WR_BLOCK) wr_flush(w);
    }
}

static void wr(wr_t *w, const void *p, size_t n)
{
    if (w->err || !n) return;
    wr_raw(w, p, n);
    vsum_update(&w->sum, p, n);
    w->pos += n;
}

static void pad_page(wr_t *w)
{
    static const char zero[PAGE];
    size_t r = w->pos % PAGE;
    if (r && !w->err) {
        wr_raw(w, zero, PAGE - r);
        w->pos += PAGE - r;
    }
}

static void sec_begin(wr_t *w, sec_t *s) { pad_page(w); vsum_init(&w->sum); s->off = w->pos; }
static void sec_end(wr_t *w, sec_t *s) { s->len = w->pos - s->off; s->sum = vsum_final(&w->sum); }

int vindex_save(vindex_t *v, const char *path, char *err, size_t errlen)
{
    if (!v || !path) { vindex_set_err(err, errlen, "null argument"); return -1; }
    if (v->p.no_graph) {
        /* the format has no field for it, and such collections are rebuilt from their source */
        vindex_set_err(err, errlen, "a collection without a graph (no_graph) cannot be saved");
        return -1;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) { vindex_set_err(err, errlen, "out of memory"); return -1; }
    snprintf(tmp, plen + 16, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        vindex_set_err(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    char *wbuf = malloc(WR_BLOCK);
    if (!wbuf) {
        vindex_set_err(err, errlen, "out of memory");
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    pthread_mutex_lock(&v->wlock);
    fhdr_t h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, FILE_MAGIC, 8);
    h.version = FILE_VERSION; h.header_bytes = HDR;
    h.dim = v->dim; h.metric = v->p.metric; h.m = v->m;
    h.ef_construction = v->p.ef_construction; h.ef_search = v->p.ef_search;
    const vqgrid_t *g = v->q;
    h.quant = v->p.quant; h.flat_below = v->p.flat_below; h.q_trained = g != NULL;
    h.q_scale = g ? g->scale : 0.f;
    h.q_train_n = v->q_train_n > UINT32_MAX ? UINT32_MAX : (uint32_t)v->q_train_n;
    h.seed = v->p.seed; h.rng = v->rng; h.slots = v->n_slots; h.live = v->n_live;
    h.dead = v->n_dead; h.ep_packed = v->ep_packed; h.stride = v->stride; h.code_off = v->code_off;
    vtab_t *t = v->tab;
    size_t n = v->n_slots, per = (size_t)1 << v->chunk_shift;
    wr_t w;
    memset(&w, 0, sizeof w);
    w.fd = fd;
    w.buf = wbuf;
    static const char zero_hdr[HDR];
    wr_raw(&w, zero_hdr, HDR);
    w.pos = HDR;
    sec_begin(&w, &h.sec[0]);
    for (size_t b = 0; b < n; b += per) wr(&w, t->nodes[b / per], (n - b < per ? n - b : per) * v->stride);
    sec_end(&w, &h.sec[0]);
    sec_begin(&w, &h.sec[1]);
    for (size_t b = 0; b < n; b += per) wr(&w, t->meta[b / per], (n - b < per ? n - b : per) * sizeof(vmeta_t));
    sec_end(&w, &h.sec[1]);
    sec_begin(&w, &h.sec[2]);
    if (v->p.quant == VINDEX_QUANT_INT8)
        for (size_t b = 0; b < n; b += per) {
            wr(&w, t->vec[b / per], (n - b < per ? n - b : per) * v->dim * sizeof(float));
            vspill_drop(v, b / per);   /* reading them all must not leave them resident */
        }
    sec_end(&w, &h.sec[2]);
    sec_begin(&w, &h.sec[3]);
    for (size_t s = 0; s < n; s++) {
        const vmeta_t *mt = vindex_meta(v, t, (uint32_t)s);
        uint32_t *u = t->up[s / per][s % per];
        if (mt->level > 0 && u) wr(&w, u, (size_t)mt->level * (v->m + 1) * sizeof(uint32_t));
    }
    sec_end(&w, &h.sec[3]);
    sec_begin(&w, &h.sec[4]);
    for (size_t j = 0; j < v->dim; j++) {
        float o = g ? g->off[j] : 0.f;
        wr(&w, &o, sizeof o);
    }
    sec_end(&w, &h.sec[4]);
    pthread_mutex_unlock(&v->wlock);

    uint8_t hdr[HDR] = {0};
    memcpy(hdr, &h, sizeof h);
    uint64_t hs = vsum(hdr, HDR - 8);
    memcpy(hdr + HDR - 8, &hs, 8);
    wr_flush(&w);
    free(wbuf);
    if (!w.err && pwrite(fd, hdr, HDR, 0) != HDR) w.err = errno ? errno : EIO;
    if (!w.err && fsync(fd)) w.err = errno;
    if (close(fd) && !w.err) w.err = errno;
    if (!w.err && rename(tmp, path)) w.err = errno;
    if (!w.err) {
        char *d = strdup(path);
        int dfd = d ? open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
        if (dfd >= 0) { if (fsync(dfd)) w.err = errno; close(dfd); }
        free(d);
    }
    if (w.err) {
        vindex_set_err(err, errlen, "%s: %s", tmp, strerror(w.err));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    if (vlog_truncate(v)) { vindex_set_err(err, errlen, "cannot truncate the log"); return -1; }
    return 0;
}

/* ---- load ---- */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
typedef struct { char *p; size_t len; } prefault_t;

static void *prefault_main(void *arg)
{
    prefault_t *pf = arg;
    if (madvise(pf->p, pf->len, MADV_POPULATE_READ) != 0) {
        /* older kernels: touch one byte per page */
        volatile char sink = 0;
        for (size_t o = 0; o < pf->len; o += 4096) sink ^= pf->p[o];
        (void)sink;
    }
    return NULL;
}
static vindex_t *fail(vindex_t *v, char *err, size_t errlen, const char *path, const char *why)
{
    vindex_set_err(err, errlen, "%s: %s", path, why);
    vindex_free(v);
    return NULL;
}

vindex_t *vindex_load(const char *path, char *err, size_t errlen)
{
    if (!path) { vindex_set_err(err, errlen, "null path"); return NULL; }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { vindex_set_err(err, errlen, "%s: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st) < 0) { vindex_set_err(err, errlen, "%s: %s", path, strerror(errno)); close(fd); return NULL; }
    size_t size = (size_t)st.st_size;
    uint8_t hdr[HDR];
    if (size < HDR || pread(fd, hdr, HDR, 0) != HDR) {
        close(fd);
        vindex_set_err(err, errlen, "%s: truncated (no complete header)", path);
        return NULL;
    }
    fhdr_t h;
    memcpy(&h, hdr, sizeof h);
    uint64_t hs;
    memcpy(&hs, hdr + HDR - 8, 8);
    if (memcmp(h.magic, FILE_MAGIC, 8)) { close(fd); vindex_set_err(err, errlen, "%s: not a rodeo vector index", path); return NULL; }
    if (h.version != FILE_VERSION) {
        close(fd);
        vindex_set_err(err, errlen, "%s: unsupported version %u (this build reads %u)", path, h.version, FILE_VERSION);
        return NULL;
    }
    if (vsum(hdr, HDR - 8) != hs) { close(fd); vindex_set_err(err, errlen, "%s: header checksum mismatch", path); return NULL; }
    vindex_params_t p;
    memset(&p, 0, sizeof p);
    p.dim = h.dim; p.metric = (vindex_metric_t)h.metric; p.m = h.m;
    p.ef_construction = h.ef_construction; p.ef_search = h.ef_search;
    p.quant = (vindex_quant_t)h.quant; p.flat_below = h.flat_below; p.seed = h.seed;
    vindex_t *v = vindex_alloc(&p, err, errlen);
    if (!v) { close(fd); return NULL; }
    size_t n = (size_t)h.slots;
    if (h.stride != v->stride || h.code_off != v->code_off || h.slots >= UINT32_MAX ||
        h.live + h.dead != h.slots) {
        close(fd);
        return fail(v, err, errlen, path, "inconsistent header");
    }
    uint64_t want_len[NSEC] = {n * v->stride, n * sizeof(vmeta_t),
                               p.quant == VINDEX_QUANT_INT8 ? n * v->dim * sizeof(float) : 0,
                               h.sec[3].len, v->dim * sizeof(float)};
    for (int i = 0; i < NSEC; i++) {
        if (h.sec[i].len != want_len[i] || h.sec[i].off % PAGE || h.sec[i].off < HDR ||
            h.sec[i].off > size || h.sec[i].len > size - h.sec[i].off) {
            close(fd);
            return fail(v, err, errlen, path, h.sec[i].off + h.sec[i].len > size ? "truncated" : "bad section table");
        }
    }
    /* Private and writable, but not pre-populated: read faults map page-cache pages without
     * copying (MAP_POPULATE on a writable private map would copy every page up front, 4x
     * slower); a page is copied only if a later insert or delete writes to it. */
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return fail(v, err, errlen, path, "mmap failed");
    /* Pages not yet in the page cache are then read in 2 MiB folios and mapped with 2 MiB
     * entries (see WR_BLOCK above for why that matters); cached ones keep their folio size. */
    madvise(map, size, MADV_HUGEPAGE);
    v->map = map;
    v->map_len = size;
    const char *base = map;
    /* Page faults cost more than hashing: a helper thread faults in the second half while
     * this thread verifies the first. */
    prefault_t pf = {(char *)map + size / 2, size - size / 2};
    pthread_t pft;
    int pf_started = size >= (64u << 20) && pthread_create(&pft, NULL, prefault_main, &pf) == 0;
    int bad_sec = -1;
    for (int i = 0; i < NSEC && bad_sec < 0; i++)
        if (vsum(base + h.sec[i].off, h.sec[i].len) != h.sec[i].sum) bad_sec = i;
    if (pf_started) pthread_join(pft, NULL);
    /* The fp32 vectors of an int8 collection are read only to re-rank a few candidates:
     * verification faulted them in, drop them from the resident set again (the mapping is
     * private but these pages are never written, so they refault from the file). */
    if (bad_sec < 0 && p.quant == VINDEX_QUANT_INT8 && h.sec[2].len >= PAGE)
        madvise((char *)map + h.sec[2].off, h.sec[2].len & ~(uint64_t)(PAGE - 1), MADV_DONTNEED);
    if (bad_sec >= 0) {
        static const char *names[NSEC] = {"nodes", "meta", "vectors", "upper links", "quantiser"};
        char why[96];
        snprintf(why, sizeof why, "checksum mismatch in section %s", names[bad_sec]);
        return fail(v, err, errlen, path, why);
    }

    /* structure checks: states, levels, links in range */
    char *nodes = (char *)base + h.sec[0].off;
    vmeta_t *meta = (vmeta_t *)(base + h.sec[1].off);
    size_t up_words = 0, live = 0;
    for (size_t s = 0; s < n; s++) {
        if ((meta[s].state != SLOT_LIVE && meta[s].state != SLOT_DEAD) || meta[s].level < 0 ||
            meta[s].level > 30)
            return fail(v, err, errlen, path, "corrupt slot metadata");
        live += meta[s].state == SLOT_LIVE;
        up_words += (size_t)meta[s].level * (v->m + 1);
        const uint32_t *ll = (const uint32_t *)(nodes + s * v->stride) + 1;
        if (ll[-1] != meta[s].state) return fail(v, err, errlen, path, "corrupt slot state");
        if (ll[0] > v->m0) return fail(v, err, errlen, path, "corrupt neighbour list");
        for (uint32_t i = 0; i < ll[0]; i++)
            if (ll[1 + i] >= n) return fail(v, err, errlen, path, "corrupt neighbour list");
    }
    if (live != h.live || up_words * sizeof(uint32_t) != h.sec[3].len)
        return fail(v, err, errlen, path, "inconsistent counts");
    uint32_t ep = (uint32_t)h.ep_packed;
    int top = (int)(h.ep_packed >> 32) - 1;
    if (h.ep_packed && (ep >= n || top != meta[ep].level)) return fail(v, err, errlen, path, "bad entry point");
    if (!h.ep_packed && n) return fail(v, err, errlen, path, "bad entry point");

    /* chunk table over the mapping; the last partial chunk is copied so inserts can extend it */
    size_t per = (size_t)1 << v->chunk_shift, nch = (n + per - 1) / per;
    {
        /* allocate the table without chunks, then point it into the map */
        vtab_t *t = v->tab;
        size_t cap = 4;
        while (cap < nch) cap *= 2;
        vtab_t *nt = calloc(1, sizeof *nt);
        if (!nt) return fail(v, err, errlen, path, "out of memory");
        nt->cap = cap;
        nt->nodes = calloc(cap, sizeof *nt->nodes); nt->meta = calloc(cap, sizeof *nt->meta);
        nt->up = calloc(cap, sizeof *nt->up); nt->vec = calloc(cap, sizeof *nt->vec);
        nt->fattr = calloc(cap, sizeof *nt->fattr);
        nt->retired = t;
        v->tab = nt;
        if (!nt->nodes || !nt->meta || !nt->up || !nt->vec || !nt->fattr)
            return fail(v, err, errlen, path, "out of memory");
        for (size_t c = 0; c < nch; c++) {
            size_t rows = n - c * per < per ? n - c * per : per;
            char *cn = nodes + c * per * v->stride;
            vmeta_t *cm = meta + c * per;
            float *cv = p.quant == VINDEX_QUANT_INT8 ? (float *)(base + h.sec[2].off) + c * per * v->dim : NULL;
            nt->up[c] = calloc(per, sizeof(uint32_t *));
            nt->fattr[c] = calloc(per, sizeof(vindex_attrs_t));
            if (!nt->up[c] || !nt->fattr[c]) return fail(v, err, errlen, path, "out of memory");
            for (size_t r = 0; r < rows; r++) nt->fattr[c][r] = cm[r].attrs;
            if (rows < per) {
                void *nn = NULL;
                if (posix_memalign(&nn, 64, per * v->stride)) return fail(v, err, errlen, path, "out of memory");
                memcpy(nn, cn, rows * v->stride);
                nt->nodes[c] = nn;
                vmeta_t *nm = calloc(per, sizeof *nm);
                if (!nm) return fail(v, err, errlen, path, "out of memory");
                memcpy(nm, cm, rows * sizeof *nm);
                nt->meta[c] = nm;
                if (cv) {
                    float *nv = vspill_chunk(v, c);   /* inserts extend this chunk */
                    if (!nv) return fail(v, err, errlen, path, "out of memory");
                    memcpy(nv, cv, rows * v->dim * sizeof(float));
                    nt->vec[c] = nv;
                }
            } else {
                nt->nodes[c] = cn; nt->meta[c] = cm; nt->vec[c] = cv;
            }
        }
    }
    v->n_slots = n;
    v->n_live = h.live;
    v->n_dead = h.dead;
    v->ep_packed = h.ep_packed;
    v->rng = h.rng;
    if (p.quant == VINDEX_QUANT_INT8 && h.q_trained) {
        if (!(isfinite(h.q_scale) && h.q_scale > 0)) return fail(v, err, errlen, path, "bad quantiser");
        const float *off = (const float *)(base + h.sec[4].off);
        for (size_t j = 0; j < v->dim; j++)
            if (!isfinite(off[j])) return fail(v, err, errlen, path, "bad quantiser");
        if (vquant_install(v, h.q_scale, off)) return fail(v, err, errlen, path, "out of memory");
        /* older files do not say how large the sample was: treat it as the whole collection */
        v->q_train_n = h.q_train_n ? h.q_train_n : (h.live ? h.live : 1);
    }
    const uint32_t *up = (const uint32_t *)(base + h.sec[3].off);
    vtab_t *t = v->tab;
    for (size_t s = 0; s < n; s++) {
        int lv = meta[s].level;
        if (lv == 0) continue;
        size_t words = (size_t)lv * (v->m + 1);
        uint32_t *u = malloc(words * sizeof *u);
        if (!u) return fail(v, err, errlen, path, "out of memory");
        memcpy(u, up, words * sizeof *u);
        up += words;
        t->up[s / per][s % per] = u;
        for (int l = 0; l < lv; l++) {
            const uint32_t *ll = u + (size_t)l * (v->m + 1);
            if (ll[0] > v->m) return fail(v, err, errlen, path, "corrupt upper links");
            for (uint32_t i = 0; i < ll[0]; i++)
                if (ll[1 + i] >= n || meta[ll[1 + i]].level < l + 1)
                    return fail(v, err, errlen, path, "corrupt upper links");
        }
    }
    /* id map: one live slot per id */
    size_t cap = 64;
    while (cap * 4 < (h.live + 1) * 5) cap *= 2;
    v->ids = calloc(cap, sizeof *v->ids);
    if (!v->ids) return fail(v, err, errlen, path, "out of memory");
    v->ids_cap = cap;
    for (size_t s = 0; s < n; s++) {
        if (meta[s].state != SLOT_LIVE) continue;
        if (vindex_idmap_get(v, meta[s].id) >= 0) return fail(v, err, errlen, path, "duplicate live id");
        vindex_idmap_put(v, meta[s].id, (uint32_t)s);
    }
    return v;
}
