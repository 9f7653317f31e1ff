/* jpeg_mcu.c — our Huffman MCU decoder in place of libjpeg's (see jpeg_mcu.h).
 *
 * libjpeg's decoder is a module behind struct jpeg_entropy_decoder (jpegint.h): the
 * coefficient controller calls decode_mcu once per MCU with zeroed blocks to fill. Ours
 * fills them with exactly the coefficients jdhuff.c would (JCOEF DC from the running
 * predictor, AC values at natural-order positions with its guard entries), using the
 * code+value table of jpeg_huff.h: one lookup per symbol where libjpeg-turbo does a code
 * lookup then a separate magnitude read. Restart markers are handled here; anything
 * unusual raises a libjpeg error with the hook marked failed, and decode_jpeg.c decodes
 * the file again with libjpeg alone. */
#define JPEG_INTERNALS    /* jpegint.h: the entropy decoder interface */
#include "vision/jpeg_mcu.h"
#include "vision/jpeg_huff.h"
#include <jerror.h>
#include <stdlib.h>
#include <string.h>

/* Stands in for libjpeg's Huffman entropy module (jdhuff.c) for the rest of a
 * single-scan decode: same coefficients, found with jpeg_huff.h's code+value table. pub
 * must stay first: libjpeg calls through ci->entropy. */
struct vision_jpeg_mcu_hook {
    struct jpeg_entropy_decoder pub;
    struct jpeg_entropy_decoder *orig;
    huff_reader_t br;
    huff_set_t tables;
    const huff_table_t *blk_dc[D_MAX_BLOCKS_IN_MCU], *blk_ac[D_MAX_BLOCKS_IN_MCU];
    int blk_comp[D_MAX_BLOCKS_IN_MCU], nblocks;
    uint32_t pred[MAX_COMPS_IN_SCAN];
    unsigned interval, togo;
    int rst_num, failed;
    long mcus_left;
};

static void hook_start_pass(j_decompress_ptr ci) { (void)ci; }

/* Declines further work by raising a libjpeg error; the caller sees failed and decodes
 * the file again with libjpeg alone. */
static boolean hook_fail(j_decompress_ptr ci, vision_jpeg_mcu_hook_t *h)
{
    h->failed = 1;
    ERREXIT(ci, JERR_BAD_HUFF_TABLE);
    return FALSE;
}

static boolean hook_decode_mcu(j_decompress_ptr ci, JBLOCKROW *MCU_data)
{
    vision_jpeg_mcu_hook_t *h = (vision_jpeg_mcu_hook_t *)ci->entropy;
    huff_bits_t b = {h->br.buf, h->br.nbits};
    if (h->interval) {
        if (h->togo == 0) {
            if (huff_restart(&h->br, &b, &h->rst_num)) return hook_fail(ci, h);
            memset(h->pred, 0, sizeof h->pred);
            h->togo = h->interval;
        }
        h->togo--;
    }
    for (int k = 0; k < h->nblocks; k++) {
        JCOEF *blk = MCU_data[k][0];
        int diff, used;
        if (huff_decode_dc(&h->br, &b, h->blk_dc[k], &diff)) return hook_fail(ci, h);
        h->pred[h->blk_comp[k]] += (uint32_t)diff;
        blk[0] = (JCOEF)(int16_t)h->pred[h->blk_comp[k]];
        if (huff_decode_ac(&h->br, &b, h->blk_ac[k], blk, &used)) return hook_fail(ci, h);
    }
    h->br.buf = b.buf;
    h->br.nbits = b.nbits;
    if (h->br.pad > b.nbits) return hook_fail(ci, h);
    if (--h->mcus_left == 0 && h->br.stop == 2) return hook_fail(ci, h);
    return TRUE;
}

vision_jpeg_mcu_hook_t *vision_jpeg_mcu_hook_install(struct jpeg_decompress_struct *ci)
{
    if (ci->progressive_mode || ci->arith_code || ci->data_precision != 8 ||
        ci->global_state != DSTATE_SCANNING || ci->inputctl->has_multiple_scans ||
        ci->input_scan_number != 1 || ci->output_scanline != 0 || ci->Ss != 0 || ci->Se != 63 ||
        ci->Ah || ci->Al || !ci->src || !ci->entropy || ci->blocks_in_MCU > D_MAX_BLOCKS_IN_MCU)
        return NULL;
    /* Every component must need its AC coefficients (DCT scaling above 1x1). */
    for (int s = 0; s < ci->comps_in_scan; s++)
        if (!ci->cur_comp_info[s] || ci->cur_comp_info[s]->DCT_scaled_size < 2) return NULL;
    vision_jpeg_mcu_hook_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    int oom = 0, ok = 1;
    for (int b = 0; b < ci->blocks_in_MCU && ok; b++) {
        int m = ci->MCU_membership[b];
        jpeg_component_info *ji = m >= 0 && m < ci->comps_in_scan ? ci->cur_comp_info[m] : NULL;
        if (!ji || ji->dc_tbl_no < 0 || ji->dc_tbl_no >= NUM_HUFF_TBLS || ji->ac_tbl_no < 0 ||
            ji->ac_tbl_no >= NUM_HUFF_TBLS) { ok = 0; break; }
        huff_table_t *dct = huff_set_get(&h->tables, ci, 1, ji->dc_tbl_no, &oom);
        huff_table_t *act = huff_set_get(&h->tables, ci, 0, ji->ac_tbl_no, &oom);
        if (!dct || !act || huff_build_dc(dct) || huff_build_ac(act)) { ok = 0; break; }
        h->blk_dc[b] = dct;
        h->blk_ac[b] = act;
        h->blk_comp[b] = m;
    }
    h->nblocks = ci->blocks_in_MCU;
    if (!ok) {
        vision_jpeg_mcu_hook_release(ci, h);
        return NULL;
    }
    h->br.p = ci->src->next_input_byte;
    h->br.end = h->br.p + ci->src->bytes_in_buffer;
    h->br.ff = huff_next_ff(h->br.p, h->br.end);
    h->interval = ci->restart_interval;
    h->togo = h->interval;
    h->mcus_left = (long)ci->MCUs_per_row * (long)ci->MCU_rows_in_scan;
    h->pub.start_pass = hook_start_pass;
    h->pub.decode_mcu = hook_decode_mcu;
    h->pub.insufficient_data = FALSE;
    h->orig = ci->entropy;
    ci->entropy = &h->pub;
    return h;
}

int vision_jpeg_mcu_hook_failed(const vision_jpeg_mcu_hook_t *h) { return h && h->failed; }

void vision_jpeg_mcu_hook_release(struct jpeg_decompress_struct *ci, vision_jpeg_mcu_hook_t *h)
{
    if (!h) return;
    if (h->orig && ci->entropy == &h->pub) ci->entropy = h->orig;
    huff_set_free(&h->tables);
    free(h);
}
