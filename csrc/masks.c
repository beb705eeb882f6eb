/* accel mask kernel: the segmentation masks of the kept detections, from the prototype
   maps and each detection's coefficients (process_masks). Plain C99, no Python;
   declarations and contract in masks.h, reference accel/_backends/python/masks.py.

   Per detection, only its window's target pixels are computed, in three steps that keep
   the reference's float64 arithmetic and its order (with -ffp-contract=off from setup.py
   nothing is fused into FMA, so every value is the reference's bit for bit):

   1. The logits of the prototype region its samples touch (rows first_row .. last_row,
      columns first_col .. last_col of the prototype window), into a float64 scratch,
      four channels per pass, each added after the one before: each logit is still
      0.0 + c0 * p0 + c1 * p1 + ... in channel order, and the loop over a contiguous
      region row vectorises (float -> double, SSE2, NEON).
   2. For each source row the window's target rows sample, the horizontal blend
      H[x] = wx0 * L[r][c0] + wx1 * L[r][c1] of every target column x: the reference's
      inner parentheses, computed once per (source row, x) instead of once per target
      pixel. Sample positions grow with the target index, so the rows come in order and
      two row buffers suffice (the rows of target y are r0 and r1 <= r0 + 1).
   3. Each target row: wy0 * H[r0][x] + wy1 * H[r1][x] > 0.0, over contiguous buffers
      (SSE2 intrinsics on x86, see threshold_row).

   Column positions and weights are computed once per detection; row positions once per
   target row. One scratch allocation per call, sized for the largest window, freed before
   returning: nothing is shared between calls. Index arithmetic is int64_t throughout. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "masks.h"
#include "restrict.h"

/* SSE2 for threshold_row (always there on x86-64). */
#if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64) \
    || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <emmintrin.h>
#define ACCEL_MASKS_SSE2 1
#endif

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* Bilinear sample of target index `index` along an axis of `size` source cells
   (align_corners=False), as the reference computes it: the two source indices, and the
   fraction f (weights 1.0 - f and f). */
static double source_position(int64_t index, double scale, int64_t size, int64_t *low,
                              int64_t *high)
{
    double position = ((double)index + 0.5) * scale - 0.5;
    int64_t below;
    if (position < 0.0)
        position = 0.0;
    below = (int64_t)position;
    *low = below;
    *high = below < size - 1 ? below + 1 : below;
    return position - (double)below;
}

/* Rows first .. last (inclusive) of the source samples of target indices first_index ..
   stop - 1: positions never decrease with the index, so the ends bound them. */
static void source_span(int64_t first_index, int64_t stop, double scale, int64_t size,
                        int64_t *first, int64_t *last)
{
    int64_t unused;
    source_position(first_index, scale, size, first, &unused);
    source_position(stop - 1, scale, size, &unused, last);
}

/* logits += the terms of channels ch .. ch + 3 (4 planes, plane_stride apart), added one
   channel after the other: each logit is still summed in channel order, with a quarter of
   the loads and stores of the logits of one channel at a time. */
static void add_four_channels(double *ACCEL_RESTRICT logits, const float *ACCEL_RESTRICT first,
                              int64_t plane, int64_t row_stride, const double *weights,
                              int64_t n_rows, int64_t n_cols)
{
    const double w0 = weights[0], w1 = weights[1], w2 = weights[2], w3 = weights[3];
    int64_t r, c;
    for (r = 0; r < n_rows; r++) {
        double *ACCEL_RESTRICT line = logits + r * n_cols;
        const float *ACCEL_RESTRICT p0 = first + r * row_stride;
        const float *ACCEL_RESTRICT p1 = p0 + plane;
        const float *ACCEL_RESTRICT p2 = p1 + plane;
        const float *ACCEL_RESTRICT p3 = p2 + plane;
        for (c = 0; c < n_cols; c++) {
            double total = line[c];
            total += w0 * (double)p0[c];
            total += w1 * (double)p1[c];
            total += w2 * (double)p2[c];
            total += w3 * (double)p3[c];
            line[c] = total;
        }
    }
}

static void add_channel(double *ACCEL_RESTRICT logits, const float *ACCEL_RESTRICT plane,
                        int64_t row_stride, double weight, int64_t n_rows, int64_t n_cols)
{
    int64_t r, c;
    for (r = 0; r < n_rows; r++) {
        double *ACCEL_RESTRICT line = logits + r * n_cols;
        const float *ACCEL_RESTRICT source = plane + r * row_stride;
        for (c = 0; c < n_cols; c++)
            line[c] += weight * (double)source[c];
    }
}

static void blend_columns(double *ACCEL_RESTRICT blend, const double *ACCEL_RESTRICT line,
                          const int64_t *ACCEL_RESTRICT low, const int64_t *ACCEL_RESTRICT high,
                          const double *ACCEL_RESTRICT low_w, const double *ACCEL_RESTRICT high_w,
                          int64_t width)
{
    int64_t x;
    for (x = 0; x < width; x++)
        blend[x] = low_w[x] * line[low[x]] + high_w[x] * line[high[x]];
}

/* out[x] = wu * upper[x] + wl * lower[x] > 0.0, for x < width. upper and lower may be the
   same row (the last source row): both are only read.

   gcc does not vectorise this loop for plain x86-64 (SSE2): it will not narrow the
   comparison of doubles to bytes. So on x86 it is written out with SSE2 intrinsics, 16
   pixels at a time: the same IEEE double products and sum as the scalar code (separate
   mulpd and addpd, never fused), compared with cmpgtpd (false for NaN, as in C), the
   2 x 8 lane masks packed to 16 bytes and masked to 0 or 1. Elsewhere (aarch64: NEON)
   the compiler vectorises the scalar loop itself. */
static void threshold_row(uint8_t *ACCEL_RESTRICT out, const double *upper,
                          const double *lower, double upper_w, double lower_w, int64_t width)
{
    int64_t x = 0;
#ifdef ACCEL_MASKS_SSE2
    const __m128d wu = _mm_set1_pd(upper_w), wl = _mm_set1_pd(lower_w);
    const __m128d zero = _mm_setzero_pd();
    const __m128i one = _mm_set1_epi8(1);
    for (; x + 16 <= width; x += 16) {
        __m128 quad[4];  /* the 32-bit halves of 4 pixels' 64-bit masks, one per pixel */
        int q;
        for (q = 0; q < 4; q++) {
            const double *u = upper + x + 4 * q, *l = lower + x + 4 * q;
            __m128d v0 = _mm_add_pd(_mm_mul_pd(wu, _mm_loadu_pd(u)),
                                    _mm_mul_pd(wl, _mm_loadu_pd(l)));
            __m128d v1 = _mm_add_pd(_mm_mul_pd(wu, _mm_loadu_pd(u + 2)),
                                    _mm_mul_pd(wl, _mm_loadu_pd(l + 2)));
            quad[q] = _mm_shuffle_ps(_mm_castpd_ps(_mm_cmpgt_pd(v0, zero)),
                                     _mm_castpd_ps(_mm_cmpgt_pd(v1, zero)),
                                     _MM_SHUFFLE(2, 0, 2, 0));
        }
        _mm_storeu_si128((__m128i *)(void *)(out + x), _mm_and_si128(one, _mm_packs_epi16(
            _mm_packs_epi32(_mm_castps_si128(quad[0]), _mm_castps_si128(quad[1])),
            _mm_packs_epi32(_mm_castps_si128(quad[2]), _mm_castps_si128(quad[3])))));
    }
#endif
    for (; x < width; x++)
        out[x] = (uint8_t)(upper_w * upper[x] + lower_w * lower[x] > 0.0);
}

typedef struct {
    int64_t *col_low, *col_high;
    double *col_low_w, *col_high_w;
    double *rows[2];  /* two horizontal blends of source rows */
    double *logits;
} scratch_t;

/* The slot holding the blend of region row r, computing it into a slot other than `keep`
   (-1: any) when neither holds it. */
static int blended_row(scratch_t *s, int64_t tags[2], int keep, int64_t r, int64_t n_cols,
                       int64_t width)
{
    int slot;
    if (tags[0] == r)
        return 0;
    if (tags[1] == r)
        return 1;
    slot = keep == 0 ? 1 : 0;
    blend_columns(s->rows[slot], s->logits + r * n_cols, s->col_low, s->col_high,
                  s->col_low_w, s->col_high_w, width);
    tags[slot] = r;
    return slot;
}

static void one_mask(const float *protos, int64_t channels, int64_t plane, int64_t mw,
                     const double *coeffs, const int64_t *window, uint8_t *out, int64_t stride,
                     double scale_y, double scale_x, int64_t top, int64_t left, int64_t rows,
                     int64_t cols, scratch_t *s)
{
    int64_t x0 = window[0], y0 = window[1], x1 = window[2], y1 = window[3];
    int64_t width = x1 - x0, height = y1 - y0;
    int64_t first_row, last_row, first_col, last_col, n_rows, n_cols, x, y, ch;
    int64_t tags[2] = {-1, -1};

    for (x = 0; x < width; x++) {
        double f = source_position(x0 + x, scale_x, cols, &s->col_low[x], &s->col_high[x]);
        s->col_low_w[x] = 1.0 - f;
        s->col_high_w[x] = f;
    }
    first_col = s->col_low[0];
    last_col = s->col_high[width - 1];
    n_cols = last_col - first_col + 1;
    for (x = 0; x < width; x++) {
        s->col_low[x] -= first_col;
        s->col_high[x] -= first_col;
    }
    source_span(y0, y1, scale_y, rows, &first_row, &last_row);
    n_rows = last_row - first_row + 1;

    memset(s->logits, 0, (size_t)(n_rows * n_cols) * sizeof(double));
    if (channels > 0) {  /* else protos and coeffs may be NULL: no arithmetic on them */
        const float *corner = protos + (top + first_row) * mw + left + first_col;
        for (ch = 0; ch + 4 <= channels; ch += 4)
            add_four_channels(s->logits, corner + ch * plane, plane, mw, coeffs + ch, n_rows,
                              n_cols);
        for (; ch < channels; ch++)
            add_channel(s->logits, corner + ch * plane, mw, coeffs[ch], n_rows, n_cols);
    }

    for (y = 0; y < height; y++) {
        int64_t low, high;
        double f = source_position(y0 + y, scale_y, rows, &low, &high);
        int upper = blended_row(s, tags, -1, low - first_row, n_cols, width);
        int lower = blended_row(s, tags, upper, high - first_row, n_cols, width);
        threshold_row(out + y * stride, s->rows[upper], s->rows[lower], 1.0 - f, f, width);
    }
}

int accel_process_masks(const float *protos, int64_t channels, int64_t mh, int64_t mw,
                        const double *coeffs, int64_t n_det, const int64_t *windows,
                        const int64_t *offsets, const int64_t *strides, double scale_y,
                        double scale_x, int64_t top, int64_t left, int64_t rows,
                        int64_t cols, uint8_t *out)
{
    int64_t k, max_width = 0, max_area = 0;
    uint64_t doubles;
    double *memory;
    scratch_t s;

    /* Scratch for the widest window and the largest region. */
    for (k = 0; k < n_det; k++) {
        const int64_t *w = windows + 4 * k;
        int64_t first_row, last_row, first_col, last_col, area;
        if (w[0] >= w[2] || w[1] >= w[3])
            continue;
        source_span(w[0], w[2], scale_x, cols, &first_col, &last_col);
        source_span(w[1], w[3], scale_y, rows, &first_row, &last_row);
        area = (last_row - first_row + 1) * (last_col - first_col + 1);
        if (w[2] - w[0] > max_width)
            max_width = w[2] - w[0];
        if (area > max_area)
            max_area = area;
    }
    if (max_width == 0)
        return 0;
    /* col_low, col_high, col_low_w, col_high_w, two blended rows: 6 per column. The
       int64_t and double arrays share the allocation: both are 8 bytes wide. */
    doubles = 6 * (uint64_t)max_width + (uint64_t)max_area;
    if (doubles > (uint64_t)(SIZE_MAX / sizeof(double)))
        return -1;
    memory = (double *)malloc((size_t)doubles * sizeof(double));
    if (memory == NULL)
        return -1;
    s.col_low = (int64_t *)(void *)memory;
    s.col_high = (int64_t *)(void *)(memory + max_width);
    s.col_low_w = memory + 2 * max_width;
    s.col_high_w = memory + 3 * max_width;
    s.rows[0] = memory + 4 * max_width;
    s.rows[1] = memory + 5 * max_width;
    s.logits = memory + 6 * max_width;

    for (k = 0; k < n_det; k++) {
        const int64_t *w = windows + 4 * k;
        if (w[0] >= w[2] || w[1] >= w[3])
            continue;
        one_mask(protos, channels, mh * mw, mw, channels > 0 ? coeffs + k * channels : coeffs,
                 w, out + offsets[k], strides[k], scale_y, scale_x, top, left, rows, cols, &s);
    }
    free(memory);
    return 0;
}
