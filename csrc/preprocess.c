/* accel preprocessing kernels: letterbox (bilinear resize + padding), to_tensor and the
   fused preprocess. Plain C99, no Python; declarations and contract in preprocess.h.

   The arithmetic is the reference's (accel/_preprocess.py), integer for the resize and
   float32 for the tensor values, so every output is bit-identical to it:

       T(row) = S[row, xcols[x][0]] * xw[x][0] + S[row, xcols[x][1]] * xw[x][1]
       D      = ((yw[y][0] * (T(yrows[y][0]) >> 4)) >> 16)
              + ((yw[y][1] * (T(yrows[y][1]) >> 4)) >> 16)
       pixel  = (D + 2) >> 2
       value  = ((float)pixel - mean[k]) * scale[k]        (two float32 roundings, no FMA)
                or table[256 * k + pixel]                 (float16, int8, uint8 tensors)

   Build with -ffp-contract=off (or any flags that keep float32 operations separate and
   in float32). No intrinsics: the inner loops are simple loops over contiguous data that
   gcc and clang auto-vectorise (SSE2 on x86-64, NEON on aarch64).

   Layout of the work: one pass over the output rows, each written once. For each output
   row the horizontal pass (T >> 4, an int16 for the checked tables) of its two source rows
   is computed, or reused from the previous output row (rows are visited in increasing
   order, so a source row shared by consecutive output rows is computed once), then
   blended vertically into one uint8 row, then converted straight into the output planes
   or pixels (an "emitter" per call: float32 arithmetic or table lookups, either layout;
   an identity uint8 table only reorders bytes), or copied into the letterboxed image,
   with the padding written around it.
   A horizontal pass first gathers the source pixels it needs into contiguous scratch rows
   (scalar: one 8-byte load for the two neighbouring pixels of a column, or two 4-byte
   loads), then multiplies and adds in 16-bit vector lanes. Three-channel pixels take four
   lanes in the scratch rows (the fourth lane has weight 0 and is never read back):
   stride-4 data vectorises everywhere, stride 3 does not with SSE2. Rows whose weights
   make the blend a plain copy (weight 2048 for one source pixel and 0 for the other, on
   both axes: every pixel of an exact 3x downscale, or no resize at all) skip the
   arithmetic, which gives the same bits.

   Status: 0, STATUS_NO_MEMORY (-1) or STATUS_BAD_ARGUMENTS (-2), see preprocess.h. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "preprocess.h"
#include "restrict.h"

/* Little-endian byte order lets a 4-lane pixel be read as one uint32 (lane j = bits 8j..)
   and two neighbouring source pixels be split out of one 8-byte load; other byte orders
   take the plain byte-wise loops. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ACCEL_LITTLE_ENDIAN 1
#endif
#elif defined(_MSC_VER)
#define ACCEL_LITTLE_ENDIAN 1 /* every Windows target */
#endif
#ifndef ACCEL_LITTLE_ENDIAN
#define ACCEL_LITTLE_ENDIAN 0
#endif

#define COEF_ONE 2048          /* INTER_RESIZE_COEF_SCALE: weight of a whole pixel */
#define WEIGHT_SUM_MAX 2050    /* keeps T >> 4 in int16 and every pixel in 0..255 */
#define SLACK 16               /* spare bytes after each gathered row (4-byte copies) */
#define TO_TENSOR_CHUNK 1024   /* pixels widened to four lanes at a time by to_tensor */

#define STATUS_OK 0
#define STATUS_NO_MEMORY (-1)
#define STATUS_BAD_ARGUMENTS (-2)

/* ------------------------------------------------------------------------------------ */
/* Argument checks (cheap: O(new_w + new_h)); the Python layer already validated them,
   these keep a wrong call from reading or writing out of bounds. */

static int check_axis(const int32_t *index, const int32_t *weight, int64_t n, int64_t size)
{
    int64_t i;
    for (i = 0; i < 2 * n; i++) {
        if (index[i] < 0 || index[i] >= size)
            return 0;
    }
    for (i = 0; i < n; i++) {
        int64_t a = weight[2 * i], b = weight[2 * i + 1];
        if (a < 0 || b < 0 || a + b > WEIGHT_SUM_MAX)
            return 0;
    }
    return 1;
}

static int check_geometry(int64_t h, int64_t w, int64_t c, int64_t out_h, int64_t out_w,
                          const int32_t *xcols, const int32_t *xw, int64_t new_w,
                          const int32_t *yrows, const int32_t *yw, int64_t new_h,
                          int64_t top, int64_t left)
{
    if (c != 1 && c != 3 && c != 4)
        return 0;
    if (h < 1 || w < 1 || new_w < 1 || new_h < 1 || top < 0 || left < 0)
        return 0;
    if (w * c > INT32_MAX - 8)  /* a source row of 2 GB: the 32-bit gather offsets overflow */
        return 0;
    if (new_h > out_h - top || new_w > out_w - left)
        return 0;
    return check_axis(xcols, xw, new_w, w) && check_axis(yrows, yw, new_h, h);
}

/* ------------------------------------------------------------------------------------ */
/* Tensor conversion of a row of pixels held in k lanes per pixel (k = 1 for grey, 4 for
   three or four channels). */

typedef struct {
    int64_t c;
    int permutation;     /* channel_map is a permutation: one plane per lane */
    int32_t plane[4];    /* permutation: the output plane fed by lane j */
    float mean[4];       /* permutation: mean and scale of lane j's plane */
    float scale[4];
    const int32_t *map;  /* otherwise: plane p reads lane map[p] */
    const float *plane_mean;
    const float *plane_scale;
} tensor_map;

static int make_tensor_map(tensor_map *tm, int64_t c, const int32_t *map, const float *mean,
                           const float *scale)
{
    int64_t p;
    int seen[4] = {0, 0, 0, 0};
    tm->c = c;
    tm->permutation = 1;
    tm->map = map;
    tm->plane_mean = mean;
    tm->plane_scale = scale;
    for (p = 0; p < c; p++) {
        int32_t lane = map[p];
        if (lane < 0 || lane >= c)
            return 0;
        if (seen[lane])
            tm->permutation = 0;
        seen[lane] = 1;
        tm->plane[lane] = (int32_t)p;
        tm->mean[lane] = mean[p];
        tm->scale[lane] = scale[p];
    }
    return 1;
}

static void convert_1(const uint8_t *ACCEL_RESTRICT px, int64_t n, float *ACCEL_RESTRICT d,
                      float m, float s)
{
    int64_t x;
    for (x = 0; x < n; x++) {
        float v = (float)px[x] - m;
        d[x] = v * s;
    }
}

/* Four lanes per pixel, the first three (or all four) to planes. On little-endian
   targets each pixel is read as one uint32 and split with shifts, which vectorises without
   byte shuffles (SSE2 has none); the byte-wise form is the same arithmetic. */
static void convert_4x3(const uint8_t *ACCEL_RESTRICT px, int64_t n,
                        float *ACCEL_RESTRICT d0, float *ACCEL_RESTRICT d1,
                        float *ACCEL_RESTRICT d2, const float *mean, const float *scale)
{
    const float m0 = mean[0], m1 = mean[1], m2 = mean[2];
    const float s0 = scale[0], s1 = scale[1], s2 = scale[2];
    int64_t x;
    for (x = 0; x < n; x++) {
#if ACCEL_LITTLE_ENDIAN
        uint32_t p;
        float v0, v1, v2;
        memcpy(&p, px + 4 * x, 4);
        v0 = (float)(int32_t)(p & 255u) - m0;
        v1 = (float)(int32_t)((p >> 8) & 255u) - m1;
        v2 = (float)(int32_t)((p >> 16) & 255u) - m2;
#else
        float v0 = (float)px[4 * x] - m0;
        float v1 = (float)px[4 * x + 1] - m1;
        float v2 = (float)px[4 * x + 2] - m2;
#endif
        d0[x] = v0 * s0;
        d1[x] = v1 * s1;
        d2[x] = v2 * s2;
    }
}

static void convert_4x4(const uint8_t *ACCEL_RESTRICT px, int64_t n,
                        float *ACCEL_RESTRICT d0, float *ACCEL_RESTRICT d1,
                        float *ACCEL_RESTRICT d2, float *ACCEL_RESTRICT d3,
                        const float *mean, const float *scale)
{
    const float m0 = mean[0], m1 = mean[1], m2 = mean[2], m3 = mean[3];
    const float s0 = scale[0], s1 = scale[1], s2 = scale[2], s3 = scale[3];
    int64_t x;
    for (x = 0; x < n; x++) {
#if ACCEL_LITTLE_ENDIAN
        uint32_t p;
        float v0, v1, v2, v3;
        memcpy(&p, px + 4 * x, 4);
        v0 = (float)(int32_t)(p & 255u) - m0;
        v1 = (float)(int32_t)((p >> 8) & 255u) - m1;
        v2 = (float)(int32_t)((p >> 16) & 255u) - m2;
        v3 = (float)(int32_t)(p >> 24) - m3;
#else
        float v0 = (float)px[4 * x] - m0;
        float v1 = (float)px[4 * x + 1] - m1;
        float v2 = (float)px[4 * x + 2] - m2;
        float v3 = (float)px[4 * x + 3] - m3;
#endif
        d0[x] = v0 * s0;
        d1[x] = v1 * s1;
        d2[x] = v2 * s2;
        d3[x] = v3 * s3;
    }
}

static void convert_lane(const uint8_t *ACCEL_RESTRICT px, int64_t n, int64_t k, int64_t lane,
                         float *ACCEL_RESTRICT d, float m, float s)
{
    int64_t x;
    for (x = 0; x < n; x++) {
        float v = (float)px[k * x + lane] - m;
        d[x] = v * s;
    }
}

/* n pixels of k lanes to the planes: planes[p] is where plane p's first value goes. */
static void emit(const tensor_map *tm, const uint8_t *px, int64_t n, int64_t k,
                 float *const *planes)
{
    int64_t p;
    if (tm->permutation) {
        if (tm->c == 1) {
            convert_1(px, n, planes[0], tm->mean[0], tm->scale[0]);
            return;
        }
        if (tm->c == 3 && k == 4) {
            convert_4x3(px, n, planes[tm->plane[0]], planes[tm->plane[1]],
                        planes[tm->plane[2]], tm->mean, tm->scale);
            return;
        }
        if (tm->c == 4 && k == 4) {
            convert_4x4(px, n, planes[tm->plane[0]], planes[tm->plane[1]],
                        planes[tm->plane[2]], planes[tm->plane[3]], tm->mean, tm->scale);
            return;
        }
    }
    for (p = 0; p < tm->c; p++)
        convert_lane(px, n, k, tm->map[p], planes[p], tm->plane_mean[p], tm->plane_scale[p]);
}

/* ------------------------------------------------------------------------------------ */
/* Any tensor: an emitter writes rows of pixels (k lanes each) into the output, in either
   layout, as float32 values (the arithmetic above) or as entries of a per-channel table
   of 1- or 2-byte elements (accel._preprocess builds it: float16, int8, uint8 tensors). */

#define MAX_ELEMENT 4          /* bytes of the widest element, a float32 */

typedef struct {
    int64_t c;
    int64_t width;             /* 0: float32 arithmetic; 1 or 2: table entries */
    int64_t element;           /* bytes per output element: 4, 1 or 2 */
    int nhwc;
    int identity;              /* width 1 and every table row is 0..255: pixels copied */
    int32_t map[4];            /* output channel p reads lane map[p] */
    tensor_map tm;             /* float32 */
    const uint8_t *t8[4];      /* per output channel: its table row */
    const uint16_t *t16[4];
    uint8_t *ordered;          /* nhwc float32: a row of pixels in output order */
    float *row_mean;           /* ... and mean and scale expanded to one per element */
    float *row_scale;
    void *block;
} emitter;

/* Checks the channel map and the width (0 if either is outside the contract), allocates
   the scratch of up to max_n pixels per row (-1 if that fails), returns 1. */
static int emitter_init(emitter *em, int64_t c, const int32_t *map, const float *mean,
                        const float *scale, const void *table, int64_t width, int64_t nhwc,
                        int64_t max_n)
{
    int64_t p, v, i;
    em->block = NULL;
    if (width != 0 && width != 1 && width != 2)
        return 0;
    if (width != 0 && table == NULL)
        return 0;
    if (!make_tensor_map(&em->tm, c, map, mean, scale))
        return 0;
    em->c = c;
    em->width = width;
    em->element = width ? width : 4;
    em->nhwc = nhwc != 0;
    em->identity = width == 1;
    for (p = 0; p < c; p++) {
        em->map[p] = map[p];
        em->t8[p] = table ? (const uint8_t *)table + 256 * p : NULL;
        em->t16[p] = table ? (const uint16_t *)table + 256 * p : NULL;
        for (v = 0; v < 256 && em->identity; v++)
            em->identity = em->t8[p][v] == v;
    }
    if (em->nhwc && width == 0) {
        size_t n = (size_t)(max_n * c);
        char *block = (char *)malloc(2 * n * sizeof(float) + n + SLACK);
        if (block == NULL)
            return -1;
        em->block = block;
        em->row_mean = (float *)block;
        em->row_scale = em->row_mean + n;
        em->ordered = (uint8_t *)(em->row_scale + n);
        for (i = 0; i < (int64_t)n; i++) {
            em->row_mean[i] = mean[i % c];
            em->row_scale[i] = scale[i % c];
        }
    }
    return 1;
}

/* The output element of channel p for pixel value v, as bytes (e must hold 4). */
static void emitter_value(const emitter *em, int64_t p, uint8_t v, uint8_t *e)
{
    if (em->width == 0) {
        float f = (float)v - em->tm.plane_mean[p];
        f = f * em->tm.plane_scale[p];
        memcpy(e, &f, 4);
    } else if (em->width == 1) {
        e[0] = em->t8[p][v];
    } else {
        memcpy(e, &em->t16[p][v], 2);
    }
}

/* n pixels of k lanes to n pixels of c bytes in output channel order, d[x * c + j] =
   px[x * k + map[j]]. A 4-lane pixel is one uint32 on little-endian targets, stored 4
   bytes at a time (the 4th byte of a 3-channel pixel is overwritten by the next pixel;
   the last one stores 3). The orders swap_rb gives are special-cased: the identity is a
   copy, and 3 channels reversed is a byte swap (one instruction; a general shuffle of
   the bytes, with shifts by the map, measured 3.5x slower than the copy). */
static void order_pixels(const int32_t *map, int64_t c, const uint8_t *ACCEL_RESTRICT px,
                         int64_t n, int64_t k, uint8_t *ACCEL_RESTRICT d)
{
    int64_t x, j;
    if (n <= 0)
        return;
    if (k == c && map[0] == 0 && (c == 1 || (map[1] == 1 && map[2] == 2 && (c == 3 || map[3] == 3)))) {
        memcpy(d, px, (size_t)(n * c));
        return;
    }
#if ACCEL_LITTLE_ENDIAN
    if (k == 4 && c == 3) {
        if (map[0] == 0 && map[1] == 1 && map[2] == 2) {
            for (x = 0; x < n - 1; x++)
                memcpy(d + 3 * x, px + 4 * x, 4);
        } else if (map[0] == 2 && map[1] == 1 && map[2] == 0) {
            for (x = 0; x < n - 1; x++) {
                uint32_t p, q;
                memcpy(&p, px + 4 * x, 4);
                q = (p >> 24) | ((p >> 8) & 0xFF00u) | ((p << 8) & 0xFF0000u) | (p << 24);
                q >>= 8;  /* bytes 2, 1, 0 */
                memcpy(d + 3 * x, &q, 4);
            }
        } else {
            const uint32_t s0 = 8u * (uint32_t)map[0], s1 = 8u * (uint32_t)map[1];
            const uint32_t s2 = 8u * (uint32_t)map[2];
            for (x = 0; x < n - 1; x++) {
                uint32_t p, q;
                memcpy(&p, px + 4 * x, 4);
                q = ((p >> s0) & 255u) | (((p >> s1) & 255u) << 8) | (((p >> s2) & 255u) << 16);
                memcpy(d + 3 * x, &q, 4);
            }
        }
        for (j = 0; j < 3; j++)
            d[3 * x + j] = px[4 * x + map[j]];
        return;
    }
    if (k == 4 && c == 4) {
        const uint32_t s0 = 8u * (uint32_t)map[0], s1 = 8u * (uint32_t)map[1];
        const uint32_t s2 = 8u * (uint32_t)map[2], s3 = 8u * (uint32_t)map[3];
        for (x = 0; x < n; x++) {
            uint32_t p, q;
            memcpy(&p, px + 4 * x, 4);
            q = ((p >> s0) & 255u) | (((p >> s1) & 255u) << 8) | (((p >> s2) & 255u) << 16)
                | (((p >> s3) & 255u) << 24);
            memcpy(d + 4 * x, &q, 4);
        }
        return;
    }
#endif
    for (x = 0; x < n; x++)
        for (j = 0; j < c; j++)
            d[c * x + j] = px[k * x + map[j]];
}

static void convert_ordered(const uint8_t *ACCEL_RESTRICT o, int64_t n,
                            const float *ACCEL_RESTRICT m, const float *ACCEL_RESTRICT s,
                            float *ACCEL_RESTRICT d)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float v = (float)o[i] - m[i];
        d[i] = v * s[i];
    }
}

/* Table lookups for one element width: into planes (nchw), or into interleaved pixels
   (nhwc). Lookups are scalar loads: nothing here vectorises without gathers. */
#define ACCEL_LOOKUPS(T, SUFFIX, TABLES)                                                  \
static void lookup_planes_##SUFFIX(const emitter *em, const uint8_t *ACCEL_RESTRICT px,   \
                                   int64_t n, int64_t k, uint8_t *dst, int64_t plane)    \
{                                                                                         \
    int64_t p, x;                                                                         \
    for (p = 0; p < em->c; p++) {                                                         \
        const T *ACCEL_RESTRICT t = em->TABLES[p];                                        \
        const uint8_t *ACCEL_RESTRICT s = px + em->map[p];                                \
        T *ACCEL_RESTRICT d = (T *)(dst + p * plane);                                     \
        for (x = 0; x < n; x++)                                                           \
            d[x] = t[s[k * x]];                                                           \
    }                                                                                     \
}                                                                                         \
static void lookup_pixels_##SUFFIX(const emitter *em, const uint8_t *ACCEL_RESTRICT px,   \
                                   int64_t n, int64_t k, uint8_t *dst)                    \
{                                                                                         \
    int64_t x, j, c = em->c;                                                              \
    T *ACCEL_RESTRICT d = (T *)dst;                                                       \
    if (c == 3) {                                                                         \
        const T *ACCEL_RESTRICT t0 = em->TABLES[0];                                       \
        const T *ACCEL_RESTRICT t1 = em->TABLES[1];                                       \
        const T *ACCEL_RESTRICT t2 = em->TABLES[2];                                       \
        const uint8_t *s0 = px + em->map[0], *s1 = px + em->map[1], *s2 = px + em->map[2]; \
        for (x = 0; x < n; x++) {                                                         \
            d[3 * x] = t0[s0[k * x]];                                                     \
            d[3 * x + 1] = t1[s1[k * x]];                                                 \
            d[3 * x + 2] = t2[s2[k * x]];                                                 \
        }                                                                                 \
        return;                                                                           \
    }                                                                                     \
    for (x = 0; x < n; x++)                                                               \
        for (j = 0; j < c; j++)                                                           \
            d[c * x + j] = em->TABLES[j][px[k * x + em->map[j]]];                         \
}

ACCEL_LOOKUPS(uint8_t, 8, t8)
ACCEL_LOOKUPS(uint16_t, 16, t16)

/* n pixels of k lanes into the output at dst: nchw, plane p's first element is at
   dst + p * plane (bytes); nhwc, dst is the first pixel's first element. */
static void emit_row(const emitter *em, const uint8_t *px, int64_t n, int64_t k, uint8_t *dst,
                     int64_t plane)
{
    int64_t p;
    if (!em->nhwc) {
        if (em->width == 1) {
            lookup_planes_8(em, px, n, k, dst, plane);
        } else if (em->width == 2) {
            lookup_planes_16(em, px, n, k, dst, plane);
        } else {
            float *planes[4];
            for (p = 0; p < em->c; p++)
                planes[p] = (float *)(dst + p * plane);
            emit(&em->tm, px, n, k, planes);
        }
    } else if (em->identity) {
        order_pixels(em->map, em->c, px, n, k, dst);
    } else if (em->width == 1) {
        lookup_pixels_8(em, px, n, k, dst);
    } else if (em->width == 2) {
        lookup_pixels_16(em, px, n, k, dst);
    } else {
        order_pixels(em->map, em->c, px, n, k, em->ordered);
        convert_ordered(em->ordered, n * em->c, em->row_mean, em->row_scale, (float *)dst);
    }
}

/* count copies of a size-byte pattern at d (doubling copies). */
static void fill_pattern(uint8_t *d, int64_t count, const uint8_t *pattern, int64_t size)
{
    int64_t total = count * size, done;
    if (total <= 0)
        return;
    memcpy(d, pattern, (size_t)size);
    for (done = size; done < total;) {
        int64_t m = (done < total - done) ? done : total - done;
        memcpy(d + done, d, (size_t)m);
        done += m;
    }
}

/* ------------------------------------------------------------------------------------ */
/* The resize, one output row at a time.

   The horizontal pass runs in 16-bit lanes: with a = 16 q + r (q = a >> 4, r = a & 15),
   T >> 4 = (S0 q0 + S1 q1) + ((S0 r0 + S1 r1) >> 4) exactly, every term being
   non-negative; with the checked weights (a0, a1 >= 0, a0 + a1 <= 2050) each partial sum
   fits 16 bits (S0 q0 + S1 q1 <= 255 * 128, S0 r0 + S1 r1 <= 255 * 30) and the total is
   T >> 4 <= 32671, an int16. The vertical blend is then int16 x int16 keeping the high
   half, exactly the formula's (b * (T >> 4)) >> 16. */

typedef struct {
    const uint8_t *src;
    int64_t h, w, c;
    int64_t k;               /* lanes per pixel in the scratch rows: 4 when c == 3 */
    int64_t new_w;
    const int32_t *yrows, *yw;
    int32_t *off0, *off1;    /* byte offsets, within a source row, of the two pixels (32 bits:
                                compilers vectorise gathers with 32-bit indices only) */
    const int32_t *xw;       /* the column weights, expanded into q0..r1 on first use */
    uint16_t *q0, *r0;       /* weight >> 4 and weight & 15 of the first pixel, per lane */
    uint16_t *q1, *r1;       /* and of the second (all 0 in the spare lane) */
    int weights_ready;       /* q0..r1 hold them (a row copied pixel for pixel needs none) */
    uint8_t *g0, *g1;        /* gathered source pixels, new_w * k lanes (+ SLACK) */
    int16_t *hrow[2];        /* horizontal pass T >> 4 of two source rows */
    int64_t tag[2];          /* the source rows held by hrow (-1: none) */
    uint8_t *pixels;         /* the resized row, new_w * k lanes (+ SLACK) */
    int64_t paired;          /* columns 0..paired-1 read both pixels with one 8-byte load */
    int single;              /* every xw[x][1] == 0 */
    int nearest;             /* and every xw[x][0] == COEF_ONE */
    int coarse;              /* every xw is a multiple of 16: r0 = r1 = 0 */
    void *block;
} resizer;

static size_t round_up(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static int resizer_init(resizer *rz, const uint8_t *src, int64_t h, int64_t w, int64_t c,
                        const int32_t *xcols, const int32_t *xw, int64_t new_w,
                        const int32_t *yrows, const int32_t *yw)
{
    int64_t k = (c == 3) ? 4 : c, n = new_w * k, x;
    size_t offsets = round_up((size_t)new_w * sizeof(int32_t));
    size_t lanes16 = round_up((size_t)n * sizeof(int16_t));
    size_t bytes = round_up((size_t)n + SLACK);
    char *block;

    block = (char *)malloc(2 * offsets + 6 * lanes16 + 3 * bytes + 64);
    if (block == NULL)
        return 0;
    rz->block = block;
    block = (char *)(((uintptr_t)block + 63) & ~(uintptr_t)63);
    rz->off0 = (int32_t *)block;
    block += offsets;
    rz->off1 = (int32_t *)block;
    block += offsets;
    rz->q0 = (uint16_t *)block;
    block += lanes16;
    rz->r0 = (uint16_t *)block;
    block += lanes16;
    rz->q1 = (uint16_t *)block;
    block += lanes16;
    rz->r1 = (uint16_t *)block;
    block += lanes16;
    rz->hrow[0] = (int16_t *)block;
    block += lanes16;
    rz->hrow[1] = (int16_t *)block;
    block += lanes16;
    rz->g0 = (uint8_t *)block;
    block += bytes;
    rz->g1 = (uint8_t *)block;
    block += bytes;
    rz->pixels = (uint8_t *)block;

    rz->src = src;
    rz->h = h;
    rz->w = w;
    rz->c = c;
    rz->k = k;
    rz->new_w = new_w;
    rz->yrows = yrows;
    rz->yw = yw;
    rz->tag[0] = rz->tag[1] = -1;
    rz->single = 1;
    rz->nearest = 1;
    rz->coarse = 1;
    rz->paired = -1;
    rz->xw = xw;
    rz->weights_ready = 0;
    for (x = 0; x < new_w; x++) {
        int32_t a0 = xw[2 * x], a1 = xw[2 * x + 1];
        int64_t o0 = (int64_t)xcols[2 * x] * c, o1 = (int64_t)xcols[2 * x + 1] * c;
        rz->off0[x] = (int32_t)o0;
        rz->off1[x] = (int32_t)o1;
        if (a1 != 0)
            rz->single = 0;
        if (a1 != 0 || a0 != COEF_ONE)
            rz->nearest = 0;
        if ((a0 & 15) != 0 || (a1 & 15) != 0)
            rz->coarse = 0;
        /* the 8-byte load at o0 must stay in the row and hold the second pixel */
        if (rz->paired < 0 && !(o0 + 8 <= w * c && (o1 == o0 + c || a1 == 0)))
            rz->paired = x;
    }
    if (rz->paired < 0)
        rz->paired = new_w;
    if (!ACCEL_LITTLE_ENDIAN || c == 1)
        rz->paired = 0;
    return 1;
}

/* g[x * k + j] = row[off[x] + j]: one source pixel per column, in k lanes. For c == 3 a
   4-byte copy also reads the next pixel's first byte, so the last row of the image (whose
   last pixel has no next byte) is copied byte by byte; the spare lane is then 0. */
static void gather_first(const uint8_t *ACCEL_RESTRICT row, const int32_t *ACCEL_RESTRICT off,
                         int64_t n, int64_t c, int last_row, uint8_t *ACCEL_RESTRICT g)
{
    int64_t x;
    if (c == 1) {
        for (x = 0; x < n; x++)
            g[x] = row[off[x]];
    } else if (c == 4 || !last_row) {
        for (x = 0; x < n; x++)
            memcpy(g + 4 * x, row + off[x], 4);
    } else {
        for (x = 0; x < n; x++) {
            const uint8_t *s = row + off[x];
            g[4 * x] = s[0];
            g[4 * x + 1] = s[1];
            g[4 * x + 2] = s[2];
            g[4 * x + 3] = 0;
        }
    }
}

/* Both source pixels of every column, into g0 and g1. Where the second pixel follows the
   first (columns below rz->paired) one 8-byte load holds both (little-endian only). */
static void gather_both(const resizer *rz, const uint8_t *ACCEL_RESTRICT row, int last_row,
                        uint8_t *ACCEL_RESTRICT g0, uint8_t *ACCEL_RESTRICT g1)
{
    const int32_t *ACCEL_RESTRICT off0 = rz->off0;
    const int32_t *ACCEL_RESTRICT off1 = rz->off1;
    int64_t n = rz->new_w, c = rz->c, x = 0;
    if (c == 1) {
        for (x = 0; x < n; x++) {
            g0[x] = row[off0[x]];
            g1[x] = row[off1[x]];
        }
        return;
    }
#if ACCEL_LITTLE_ENDIAN
    if (c == 3) {
        for (; x < rz->paired; x++) {
            uint64_t v;
            uint32_t first, second;
            memcpy(&v, row + off0[x], 8);
            first = (uint32_t)v;
            second = (uint32_t)(v >> 24);
            memcpy(g0 + 4 * x, &first, 4);
            memcpy(g1 + 4 * x, &second, 4);
        }
    } else {
        for (; x < rz->paired; x++) {
            uint64_t v;
            uint32_t first, second;
            memcpy(&v, row + off0[x], 8);
            first = (uint32_t)v;
            second = (uint32_t)(v >> 32);
            memcpy(g0 + 4 * x, &first, 4);
            memcpy(g1 + 4 * x, &second, 4);
        }
    }
#endif
    if (c == 4 || !last_row) {
        for (; x < n; x++) {
            memcpy(g0 + 4 * x, row + off0[x], 4);
            memcpy(g1 + 4 * x, row + off1[x], 4);
        }
    } else {
        for (; x < n; x++) {
            const uint8_t *s0 = row + off0[x], *s1 = row + off1[x];
            g0[4 * x] = s0[0];
            g0[4 * x + 1] = s0[1];
            g0[4 * x + 2] = s0[2];
            g0[4 * x + 3] = 0;
            g1[4 * x] = s1[0];
            g1[4 * x + 1] = s1[1];
            g1[4 * x + 2] = s1[2];
            g1[4 * x + 3] = 0;
        }
    }
}

/* t = T >> 4 from the gathered pixels, in the four combinations of "second pixel
   weighted" and "weights multiple of 16". */
static void columns_fine(const uint8_t *ACCEL_RESTRICT g0, const uint8_t *ACCEL_RESTRICT g1,
                         const uint16_t *ACCEL_RESTRICT q0, const uint16_t *ACCEL_RESTRICT r0,
                         const uint16_t *ACCEL_RESTRICT q1, const uint16_t *ACCEL_RESTRICT r1,
                         int64_t n, int16_t *ACCEL_RESTRICT t)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t s0 = g0[i], s1 = g1[i];
        uint16_t whole = (uint16_t)((uint16_t)(s0 * q0[i]) + (uint16_t)(s1 * q1[i]));
        uint16_t part = (uint16_t)((uint16_t)(s0 * r0[i]) + (uint16_t)(s1 * r1[i]));
        t[i] = (int16_t)(whole + (part >> 4));
    }
}

static void columns_coarse(const uint8_t *ACCEL_RESTRICT g0, const uint8_t *ACCEL_RESTRICT g1,
                           const uint16_t *ACCEL_RESTRICT q0, const uint16_t *ACCEL_RESTRICT q1,
                           int64_t n, int16_t *ACCEL_RESTRICT t)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t s0 = g0[i], s1 = g1[i];
        t[i] = (int16_t)(uint16_t)((uint16_t)(s0 * q0[i]) + (uint16_t)(s1 * q1[i]));
    }
}

static void column_fine(const uint8_t *ACCEL_RESTRICT g0, const uint16_t *ACCEL_RESTRICT q0,
                        const uint16_t *ACCEL_RESTRICT r0, int64_t n, int16_t *ACCEL_RESTRICT t)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t s0 = g0[i];
        uint16_t whole = (uint16_t)(s0 * q0[i]);
        uint16_t part = (uint16_t)(s0 * r0[i]);
        t[i] = (int16_t)(whole + (part >> 4));
    }
}

static void column_coarse(const uint8_t *ACCEL_RESTRICT g0, const uint16_t *ACCEL_RESTRICT q0,
                          int64_t n, int16_t *ACCEL_RESTRICT t)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        uint16_t s0 = g0[i];
        t[i] = (int16_t)(uint16_t)(s0 * q0[i]);
    }
}

/* q0, r0, q1, r1 from the column weights, once per call and only when a row needs the
   horizontal pass: 1080p -> 640 copies every row pixel for pixel and never does (there
   the expansion, a strided loop gcc splits into alias checks, was 3% of the call). */
static void expand_weights(resizer *rz)
{
    uint16_t *ACCEL_RESTRICT q0 = rz->q0, *ACCEL_RESTRICT r0 = rz->r0;
    uint16_t *ACCEL_RESTRICT q1 = rz->q1, *ACCEL_RESTRICT r1 = rz->r1;
    const int32_t *xw = rz->xw;
    int64_t k = rz->k, c = rz->c, x, j;
    for (x = 0; x < rz->new_w; x++) {
        int32_t a0 = xw[2 * x], a1 = xw[2 * x + 1];
        for (j = 0; j < k; j++) {
            q0[x * k + j] = (uint16_t)(j < c ? a0 >> 4 : 0);
            r0[x * k + j] = (uint16_t)(j < c ? a0 & 15 : 0);
            q1[x * k + j] = (uint16_t)(j < c ? a1 >> 4 : 0);
            r1[x * k + j] = (uint16_t)(j < c ? a1 & 15 : 0);
        }
    }
    rz->weights_ready = 1;
}

/* The horizontal pass T >> 4 of source row r, computed or reused; `keep` is a source row
   that must stay cached (the other row of the same output row), or -1. */
static const int16_t *source_row(resizer *rz, int64_t r, int64_t keep)
{
    const uint8_t *row = rz->src + r * rz->w * rz->c;
    int64_t n = rz->new_w * rz->k;
    int last_row = (r == rz->h - 1), slot;
    int16_t *t;
    if (rz->tag[0] == r)
        return rz->hrow[0];
    if (rz->tag[1] == r)
        return rz->hrow[1];
    slot = (rz->tag[0] == keep) ? 1 : 0;
    t = rz->hrow[slot];
    if (!rz->weights_ready)
        expand_weights(rz);
    if (rz->single) {
        gather_first(row, rz->off0, rz->new_w, rz->c, last_row, rz->g0);
        if (rz->coarse)
            column_coarse(rz->g0, rz->q0, n, t);
        else
            column_fine(rz->g0, rz->q0, rz->r0, n, t);
    } else {
        gather_both(rz, row, last_row, rz->g0, rz->g1);
        if (rz->coarse)
            columns_coarse(rz->g0, rz->g1, rz->q0, rz->q1, n, t);
        else
            columns_fine(rz->g0, rz->g1, rz->q0, rz->r0, rz->q1, rz->r1, n, t);
    }
    rz->tag[slot] = r;
    return t;
}

static void blend_rows(const int16_t *ACCEL_RESTRICT t0, const int16_t *ACCEL_RESTRICT t1,
                       int16_t b0, int16_t b1, int64_t n, uint8_t *ACCEL_RESTRICT px)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        int16_t d0 = (int16_t)(((int32_t)b0 * t0[i]) >> 16);
        int16_t d1 = (int16_t)(((int32_t)b1 * t1[i]) >> 16);
        px[i] = (uint8_t)((d0 + d1 + 2) >> 2);
    }
}

static void scale_row(const int16_t *ACCEL_RESTRICT t0, int16_t b0, int64_t n,
                      uint8_t *ACCEL_RESTRICT px)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        int16_t d0 = (int16_t)(((int32_t)b0 * t0[i]) >> 16);
        px[i] = (uint8_t)((d0 + 2) >> 2);
    }
}

/* Output row y of the resized image, new_w pixels of k lanes (in rz->pixels). */
static const uint8_t *resized_row(resizer *rz, int64_t y)
{
    int64_t r0 = rz->yrows[2 * y], r1 = rz->yrows[2 * y + 1], n = rz->new_w * rz->k;
    int32_t b0 = rz->yw[2 * y], b1 = rz->yw[2 * y + 1];
    if (rz->nearest && ((b0 == COEF_ONE && b1 == 0) || (b0 == 0 && b1 == COEF_ONE))) {
        /* (((2048 * ((2048 * S) >> 4)) >> 16) + 2) >> 2 == S: the pixels are a copy */
        int64_t r = b0 ? r0 : r1;
        gather_first(rz->src + r * rz->w * rz->c, rz->off0, rz->new_w, rz->c, r == rz->h - 1,
                     rz->pixels);
    } else if (b1 == 0) {
        scale_row(source_row(rz, r0, -1), (int16_t)b0, n, rz->pixels);
    } else if (b0 == 0) {
        scale_row(source_row(rz, r1, -1), (int16_t)b1, n, rz->pixels);
    } else {
        const int16_t *t0 = source_row(rz, r0, r1);
        const int16_t *t1 = source_row(rz, r1, r0);
        blend_rows(t0, t1, (int16_t)b0, (int16_t)b1, n, rz->pixels);
    }
    return rz->pixels;
}

/* d_j[x] = (float(row[off[x] + j]) - mean_j) * scale_j, j < 3: the gather and the
   conversion of convert_4x3 in one loop (with 32-bit offsets and unaliased pointers the
   compiler vectorises it). Reads 4 bytes per pixel: not for the image's last pixel. */
static void convert_gathered_3(const uint8_t *ACCEL_RESTRICT row,
                               const int32_t *ACCEL_RESTRICT off, int64_t n,
                               float *ACCEL_RESTRICT d0, float *ACCEL_RESTRICT d1,
                               float *ACCEL_RESTRICT d2, const float *mean, const float *scale)
{
    const float m0 = mean[0], m1 = mean[1], m2 = mean[2];
    const float s0 = scale[0], s1 = scale[1], s2 = scale[2];
    int64_t x;
    for (x = 0; x < n; x++) {
        uint32_t p;
        float v0, v1, v2;
        memcpy(&p, row + off[x], 4);
        v0 = (float)(int32_t)(p & 255u) - m0;
        v1 = (float)(int32_t)((p >> 8) & 255u) - m1;
        v2 = (float)(int32_t)((p >> 16) & 255u) - m2;
        d0[x] = v0 * s0;
        d1[x] = v1 * s1;
        d2[x] = v2 * s2;
    }
}

/* Output row y into float32 planes straight from the source, when it is a copied row
   (every weight selects one pixel: the identity size and exact 3x, 5x... downscales such
   as 1080p to 640) of three channels in a permuted order; 0 when that does not apply.
   One pass instead of a gather into 4-lane pixels then their conversion: about twice as
   fast, as the gathered row is neither stored nor read back. */
static int direct_planes(const resizer *rz, const tensor_map *tm, int64_t y,
                         float *const *planes)
{
    int64_t r0 = rz->yrows[2 * y], r1 = rz->yrows[2 * y + 1], r, whole, x, j;
    int32_t b0 = rz->yw[2 * y], b1 = rz->yw[2 * y + 1];
    const uint8_t *row;
    float *d[3];
    if (!(ACCEL_LITTLE_ENDIAN && rz->nearest && rz->c == 3 && tm->permutation
          && ((b0 == COEF_ONE && b1 == 0) || (b0 == 0 && b1 == COEF_ONE))))
        return 0;
    r = b0 ? r0 : r1;
    row = rz->src + r * rz->w * rz->c;
    whole = r == rz->h - 1 ? rz->new_w - 1 : rz->new_w;  /* the last pixel has 3 bytes */
    for (j = 0; j < 3; j++)
        d[j] = planes[tm->plane[j]];
    convert_gathered_3(row, rz->off0, whole, d[0], d[1], d[2], tm->mean, tm->scale);
    for (x = whole; x < rz->new_w; x++)
        for (j = 0; j < 3; j++)
            d[j][x] = ((float)row[rz->off0[x] + j] - tm->mean[j]) * tm->scale[j];
    return 1;
}

/* ------------------------------------------------------------------------------------ */
/* The kernels. */

int accel_letterbox(const uint8_t *src, int64_t h, int64_t w, int64_t c,
                    uint8_t *out, int64_t out_h, int64_t out_w,
                    const int32_t *xcols, const int32_t *xw, int64_t new_w,
                    const int32_t *yrows, const int32_t *yw, int64_t new_h,
                    int64_t top, int64_t left, const uint8_t *pad)
{
    resizer rz;
    uint8_t *pad_row;
    int64_t row_bytes = out_w * c, right = out_w - left - new_w, x, y;

    if (!check_geometry(h, w, c, out_h, out_w, xcols, xw, new_w, yrows, yw, new_h, top, left))
        return STATUS_BAD_ARGUMENTS;
    pad_row = (uint8_t *)malloc((size_t)row_bytes);
    if (pad_row == NULL)
        return STATUS_NO_MEMORY;
    if (!resizer_init(&rz, src, h, w, c, xcols, xw, new_w, yrows, yw)) {
        free(pad_row);
        return STATUS_NO_MEMORY;
    }
    for (x = 0; x < out_w; x++)
        memcpy(pad_row + x * c, pad, (size_t)c);

    for (y = 0; y < top; y++)
        memcpy(out + y * row_bytes, pad_row, (size_t)row_bytes);
    for (y = 0; y < new_h; y++) {
        uint8_t *row = out + (top + y) * row_bytes, *dst = row + left * c;
        const uint8_t *px = resized_row(&rz, y);
        memcpy(row, pad_row, (size_t)(left * c));
        memcpy(dst + new_w * c, pad_row, (size_t)(right * c));
        if (c != 3) {
            memcpy(dst, px, (size_t)(new_w * c));
        } else {
            /* four lanes to three: each 4-byte copy's last byte is overwritten next */
            for (x = 0; x < new_w - 1; x++)
                memcpy(dst + 3 * x, px + 4 * x, 4);
            memcpy(dst + 3 * x, px + 4 * x, 3);
        }
    }
    for (y = top + new_h; y < out_h; y++)
        memcpy(out + y * row_bytes, pad_row, (size_t)row_bytes);

    free(rz.block);
    free(pad_row);
    return STATUS_OK;
}

int accel_to_tensor(const uint8_t *src, int64_t h, int64_t w, int64_t c, void *out,
                    const int32_t *channel_map, const float *mean, const float *scale,
                    const void *table, int64_t width, int64_t nhwc)
{
    emitter em;
    uint8_t wide[4 * TO_TENSOR_CHUNK];
    uint8_t *o = (uint8_t *)out;
    int64_t n = h * w, k = (c == 3) ? 4 : c, start, status;

    if ((c != 1 && c != 3 && c != 4) || h < 0 || w < 0)
        return STATUS_BAD_ARGUMENTS;
    status = emitter_init(&em, c, channel_map, mean, scale, table, width, nhwc, TO_TENSOR_CHUNK);
    if (status <= 0)
        return status ? STATUS_NO_MEMORY : STATUS_BAD_ARGUMENTS;
    /* chunks of pixels, three channels widened to four lanes first */
    for (start = 0; start < n; start += TO_TENSOR_CHUNK) {
        int64_t m = (n - start < TO_TENSOR_CHUNK) ? n - start : TO_TENSOR_CHUNK;
        const uint8_t *px = src + c * start;
        uint8_t *dst = o + (em.nhwc ? c * start : start) * em.element;
        if (c == 3) {
            int64_t whole = (start + m == n) ? m - 1 : m;  /* the image's last pixel: 3 bytes */
            int64_t j;
            for (j = 0; j < whole; j++)
                memcpy(wide + 4 * j, px + 3 * j, 4);
            for (; j < m; j++)
                memcpy(wide + 4 * j, px + 3 * j, 3);
            px = wide;
        }
        emit_row(&em, px, m, k, dst, n * em.element);
    }
    free(em.block);
    return STATUS_OK;
}

int accel_preprocess(const uint8_t *src, int64_t h, int64_t w, int64_t c,
                     void *out, int64_t out_h, int64_t out_w,
                     const int32_t *xcols, const int32_t *xw, int64_t new_w,
                     const int32_t *yrows, const int32_t *yw, int64_t new_h,
                     int64_t top, int64_t left, const uint8_t *pad,
                     const int32_t *channel_map, const float *mean, const float *scale,
                     const void *table, int64_t width, int64_t nhwc)
{
    resizer rz;
    emitter em;
    uint8_t pad_value[4 * MAX_ELEMENT];  /* the padding pixel, output channel by channel */
    uint8_t *o = (uint8_t *)out;
    int64_t right = out_w - left - new_w, bottom, y, p, e, status;

    if (!check_geometry(h, w, c, out_h, out_w, xcols, xw, new_w, yrows, yw, new_h, top, left))
        return STATUS_BAD_ARGUMENTS;
    status = emitter_init(&em, c, channel_map, mean, scale, table, width, nhwc, new_w);
    if (status <= 0)
        return status ? STATUS_NO_MEMORY : STATUS_BAD_ARGUMENTS;
    if (!resizer_init(&rz, src, h, w, c, xcols, xw, new_w, yrows, yw)) {
        free(em.block);
        return STATUS_NO_MEMORY;
    }
    bottom = out_h - top - new_h;
    e = em.element;
    for (p = 0; p < c; p++)
        emitter_value(&em, p, pad[channel_map[p]], pad_value + p * e);
    if (!em.nhwc) {
        int64_t plane = out_h * out_w * e, row = out_w * e;
        for (p = 0; p < c; p++)
            fill_pattern(o + p * plane, top * out_w, pad_value + p * e, e);
        for (y = 0; y < new_h; y++) {
            uint8_t *d = o + (top + y) * row;
            float *planes[4];
            for (p = 0; p < c; p++) {
                fill_pattern(d + p * plane, left, pad_value + p * e, e);
                fill_pattern(d + p * plane + (left + new_w) * e, right, pad_value + p * e, e);
                planes[p] = (float *)(d + left * e + p * plane);
            }
            if (em.width == 0 && direct_planes(&rz, &em.tm, y, planes))
                continue;
            emit_row(&em, resized_row(&rz, y), new_w, rz.k, d + left * e, plane);
        }
        for (p = 0; p < c; p++)
            fill_pattern(o + p * plane + (top + new_h) * row, bottom * out_w, pad_value + p * e, e);
    } else {
        int64_t pixel = c * e, row = out_w * pixel;
        fill_pattern(o, top * out_w, pad_value, pixel);
        for (y = 0; y < new_h; y++) {
            const uint8_t *px = resized_row(&rz, y);
            uint8_t *d = o + (top + y) * row;
            fill_pattern(d, left, pad_value, pixel);
            fill_pattern(d + (left + new_w) * pixel, right, pad_value, pixel);
            emit_row(&em, px, new_w, rz.k, d + left * pixel, 0);
        }
        fill_pattern(o + (top + new_h) * row, bottom * out_w, pad_value, pixel);
    }
    free(rz.block);
    free(em.block);
    return STATUS_OK;
}
