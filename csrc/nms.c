/* accel C kernels: greedy NMS (plain and class-aware) and Soft-NMS.

   A port of the pure-Python reference, accel/_backends/python/nms.py, with identical
   results: the same candidate order, the same float64 IoU operations in the same order,
   the same greedy and Soft-NMS decisions. For speed, greedy NMS prunes pairs with the
   reference's uniform grid (same layout rules; it only skips pairs whose overlap is not
   positive, which can never suppress, so it never changes a result), keeps each grid
   cell's kept boxes in one contiguous array, and runs batched NMS one class at a time
   (batched NMS is by definition NMS per class, merged). A run of at most SCAN_MAX
   candidates has no grid (scan_greedy): every kept box is tested, LANES at a time
   without branches, which is quicker at these sizes than laying out and walking a grid;
   up to BUCKET_SORT candidates are ordered by a bucket sort (score_sort).

   Plain C99, no Python API: the functions run without the GIL. Build with
   -ffp-contract=off (setup.py does) so that no multiply-add is fused into an FMA, which
   would round differently from Python; never with -ffast-math. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nms.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define GRID_MAX 64
#define MAX_CELLS_PER_BOX 16
#define BUCKET_SORT 1024 /* up to this many candidates, score order by a bucket sort */
#define BUCKET_MAX 48    /* ... unless a bucket holds more than this (then radix) */
#define SCAN_MAX 1024    /* up to this many candidates (of a class), no grid */
#define LANES 8          /* kept boxes tested at once by scan_greedy */
#define SCAN_BUDGET 4    /* scan_greedy gives up after this many LANES-groups per candidate */

/* ---------------------------------------------------------------- candidate order */

typedef struct {
    uint64_t key;
    int64_t index;
} item_t;

/* Sort key of a score: increasing key <=> decreasing score; 0.0 and -0.0 tie, as they
   compare equal in the reference's sort. */
static uint64_t score_key(double score)
{
    uint64_t u;
    if (score == 0.0)
        score = 0.0;
    memcpy(&u, &score, sizeof u);
    u = (u >> 63) ? ~u : (u | UINT64_C(0x8000000000000000)); /* increasing score */
    return ~u;
}

/* Sort key of a class id: increasing key <=> increasing class. */
static uint64_t class_key(int64_t cls)
{
    return (uint64_t)cls ^ UINT64_C(0x8000000000000000);
}

/* Stable LSD radix sort of a[0..n) by increasing key, 8 bits at a time, skipping the
   bytes that every key shares (a stable insertion sort for small n); tmp holds n items. Being stable, it orders equal keys by
   their position in a: sorting candidates listed by increasing index by score_key gives
   the reference's order (decreasing score, ties by increasing index). */
static void radix_sort(item_t *a, item_t *tmp, size_t n)
{
    size_t counts[8][256];
    item_t *src = a, *dst = tmp, *swap;
    size_t i;
    int pass, d;

    if (n < 64) { /* a stable insertion sort is quicker than clearing the counts */
        for (i = 1; i < n; i++) {
            item_t item = a[i];
            size_t j = i;
            for (; j > 0 && a[j - 1].key > item.key; j--)
                a[j] = a[j - 1];
            a[j] = item;
        }
        return;
    }
    memset(counts, 0, sizeof counts);
    for (i = 0; i < n; i++) {
        uint64_t key = a[i].key;
        for (pass = 0; pass < 8; pass++)
            counts[pass][(key >> (8 * pass)) & 0xFF]++;
    }
    for (pass = 0; pass < 8; pass++) {
        size_t *count = counts[pass], offset = 0;
        if (count[(a[0].key >> (8 * pass)) & 0xFF] == n)
            continue; /* every key has the same byte here */
        for (d = 0; d < 256; d++) {
            size_t c = count[d];
            count[d] = offset;
            offset += c;
        }
        for (i = 0; i < n; i++)
            dst[count[(src[i].key >> (8 * pass)) & 0xFF]++] = src[i];
        swap = src;
        src = dst;
        dst = swap;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(item_t));
}

/* Stable sort of a[0..n) by increasing key for BUCKET_SORT >= n >= 64: one stable
   counting pass into B >= n buckets of equal key ranges, then an insertion sort, which
   moves items only within their bucket. Falls back to radix_sort when a bucket holds
   more than BUCKET_MAX items (keys crowded in a small part of their range, where the
   insertion sort could be quadratic). tmp holds n items. */
static void score_sort(item_t *a, item_t *tmp, size_t n)
{
    uint32_t count[2 * BUCKET_SORT + 1];
    uint64_t low = a[0].key, high = a[0].key;
    size_t i, b, buckets = 16;
    uint32_t biggest = 0;
    int shift = 0;

    if (n < 64 || n > BUCKET_SORT) {
        radix_sort(a, tmp, n);
        return;
    }
    for (i = 1; i < n; i++) {
        const uint64_t key = a[i].key;
        low = key < low ? key : low;
        high = key > high ? key : high;
    }
    while (buckets < n)
        buckets *= 2;
    while (((high - low) >> shift) >= (uint64_t)buckets)
        shift++;
    memset(count, 0, (buckets + 1) * sizeof(uint32_t));
    for (i = 0; i < n; i++)
        count[((a[i].key - low) >> shift) + 1]++;
    for (b = 1; b <= buckets; b++) {
        if (count[b] > biggest)
            biggest = count[b];
        count[b] += count[b - 1];
    }
    if (biggest > BUCKET_MAX) {
        radix_sort(a, tmp, n);
        return;
    }
    for (i = 0; i < n; i++)
        tmp[count[(a[i].key - low) >> shift]++] = a[i];
    for (i = 0; i < n; i++) {
        const item_t item = tmp[i];
        size_t j = i;
        for (; j > 0 && a[j - 1].key > item.key; j--)
            a[j] = a[j - 1];
        a[j] = item;
    }
}

/* ---------------------------------------------------------------- uniform grid */

typedef struct {
    int nx, ny;
    double min_x, min_y, fx, fy;
} grid_t;

/* Cells along one axis and the coordinate-to-cell factor (reference: _axis_cells).
   Every test comes before the conversion to int, which thus never sees a NaN or an
   infinity (from extreme coordinates): those give one cell, or GRID_MAX cells for an
   infinite cell count. */
static int axis_cells(double lo, double hi, double total_width, int64_t count, double *factor)
{
    double span = hi - lo, mean_width, cells, f;
    int n;

    *factor = 0.0;
    if (count == 0 || !(span > 0.0) || span == HUGE_VAL)
        return 1;
    mean_width = total_width / (double)count;
    if (!(mean_width > 0.0)) /* zero-width boxes, or a sum that underflowed */
        return 1;
    cells = span / (2.0 * mean_width);
    if (!(cells >= 2.0))
        return 1;
    n = cells >= (double)GRID_MAX ? GRID_MAX : (int)cells; /* also when cells is inf */
    f = (double)n / span;
    if (f == HUGE_VAL)
        return 1;
    *factor = f;
    return n;
}

/* Cell of an offset from the grid origin: min(n - 1, floor(offset * factor)). */
static int cell_of(double offset, double factor, int n)
{
    double v = offset * factor;
    if (!(v > 0.0))
        return 0;
    return v >= (double)(n - 1) ? n - 1 : (int)v;
}

typedef struct {
    int cx0, cx1, cy0, cy1;
} range_t;

static range_t cell_range(const grid_t *g, double x1, double y1, double x2, double y2)
{
    range_t r = {0, 0, 0, 0};
    if (g->nx > 1) {
        r.cx0 = cell_of(x1 - g->min_x, g->fx, g->nx);
        r.cx1 = cell_of(x2 - g->min_x, g->fx, g->nx);
    }
    if (g->ny > 1) {
        r.cy0 = cell_of(y1 - g->min_y, g->fy, g->ny);
        r.cy1 = cell_of(y2 - g->min_y, g->fy, g->ny);
    }
    return r;
}

static int64_t range_cells(range_t r)
{
    return (int64_t)(r.cx1 - r.cx0 + 1) * (int64_t)(r.cy1 - r.cy0 + 1);
}

/* ---------------------------------------------------------------- greedy NMS */

/* A kept box, as stored in the kept list and, copied, in every grid cell it covers (so
   that scanning a cell reads contiguous memory instead of chasing indices). The
   reference's grid.add and grid.neighbours, in other words, with the cell lists holding
   the boxes themselves. */
typedef struct {
    double x1, y1, x2, y2, area;
    int cx0, cy0; /* first cell of the box's range, to check each pair only once */
} kept_t;

typedef struct {
    kept_t *items;
    int64_t len, cap;
} cell_t;

typedef struct {
    cell_t *cells;  /* reused from one class to the next, grown as needed */
    int64_t ncells; /* cells allocated (at most GRID_MAX * GRID_MAX) */
    kept_t *kept;   /* every kept box of the current class, in keep order */
    int64_t *wide;  /* positions in kept of the boxes covering too many cells */
    double *cols;   /* scan_greedy's kept columns: x1, y1, x2, y2, area, cap each */
    int64_t cap;
    int64_t max_keep; /* room of kept and wide (allocated when the grid is first used) */
} work_t;

#define CHECK_SIZE(count, type) ((uint64_t)(count) <= (uint64_t)(SIZE_MAX / sizeof(type)))

/* True when IoU(kept a, candidate b) > thr, operation for operation as the reference's
   _overlaps(a, b, area_a, area_b, thr). */
static int overlaps(const kept_t *a, double bx1, double by1, double bx2, double by2,
                    double barea, double thr)
{
    double iw, ih, inter, uni;
    iw = (bx2 < a->x2 ? bx2 : a->x2) - (bx1 > a->x1 ? bx1 : a->x1);
    if (iw <= 0.0)
        return 0;
    ih = (by2 < a->y2 ? by2 : a->y2) - (by1 > a->y1 ? by1 : a->y1);
    if (ih <= 0.0)
        return 0;
    inter = iw * ih;
    uni = a->area + barea - inter;
    return uni > 0.0 && inter / uni > thr;
}

/* overlaps() for every kept box in [a, end), the list of the grid cell (cx, cy) of the
   candidate's cell range cr: true when one has IoU > thr with the candidate. A kept box
   sharing several cells with the candidate counts only in the first shared cell (the
   scan is row by row), so each pair is tested once.

   Same decisions as overlaps(), without its branches: the width tests pass and fail
   unpredictably, and mispredicted branches cost more than the arithmetic. Boxes are
   taken CELL_BLOCK at a time: pass 1 computes iw, ih, inter and union for each and
   appends the pairs with iw > 0, ih > 0 and union > 0 (the pairs for which the
   reference divides) without a branch; pass 2 divides for those only (division is slow
   and unpipelined on small ARM cores). Since coordinates are finite, iw and ih are never
   NaN, so !(iw > 0) is the reference's iw <= 0; the products computed for failing pairs
   are discarded. */
#define CELL_BLOCK 16
static int cell_overlaps(const kept_t *a, const kept_t *end, int cx, int cy,
                         const range_t *cr, double bx1, double by1, double bx2, double by2,
                         double barea, double thr)
{
    double inters[CELL_BLOCK], unions[CELL_BLOCK];
    while (a < end) {
        const kept_t *stop = end - a > CELL_BLOCK ? a + CELL_BLOCK : end;
        int m = 0, j;
        for (; a < stop; a++) {
            const double iw = (bx2 < a->x2 ? bx2 : a->x2) - (bx1 > a->x1 ? bx1 : a->x1);
            const double ih = (by2 < a->y2 ? by2 : a->y2) - (by1 > a->y1 ? by1 : a->y1);
            const double inter = iw * ih;
            const double uni = a->area + barea - inter;
            inters[m] = inter;
            unions[m] = uni;
            m += (cx == (a->cx0 > cr->cx0 ? a->cx0 : cr->cx0)) &
                 (cy == (a->cy0 > cr->cy0 ? a->cy0 : cr->cy0)) & (iw > 0.0) & (ih > 0.0) &
                 (uni > 0.0);
        }
        for (j = 0; j < m; j++)
            if (inters[j] / unions[j] > thr)
                return 1;
    }
    return 0;
}

static int cell_push(cell_t *cell, const kept_t *box)
{
    if (cell->len == cell->cap) {
        int64_t cap = cell->cap == 0 ? 16 : 2 * cell->cap;
        kept_t *grown;
        if (!CHECK_SIZE(cap, kept_t))
            return -1;
        grown = (kept_t *)realloc(cell->items, (size_t)cap * sizeof(kept_t));
        if (grown == NULL)
            return -1;
        cell->items = grown;
        cell->cap = cap;
    }
    cell->items[cell->len++] = *box;
    return 0;
}

/* Fill slots at .. at + LANES - 1 of the kept columns with an empty box, which overlaps
   nothing (iw = -inf). */
static void empty_slots(double *cols, int64_t cap, int64_t at)
{
    int64_t j;
    for (j = at; j < at + LANES; j++) {
        cols[j] = HUGE_VAL;
        cols[cap + j] = HUGE_VAL;
        cols[2 * cap + j] = -HUGE_VAL;
        cols[3 * cap + j] = -HUGE_VAL;
        cols[4 * cap + j] = 0.0;
    }
}

/* Which of the LANES kept boxes in columns x1 .. area suppress box b: bit k is
   overlaps(kept k, b) with every condition evaluated (coordinates are finite: iw and ih
   are never NaN). The same IEEE operations lane by lane in every variant, so the same
   decisions: iw = min(bx2, x2) - max(bx1, x1) with min and max picking as the scalar
   form does (_mm_min_pd(a, b) is a < b ? a : b), likewise ih, inter = iw * ih,
   uni = area + barea - inter, then (iw > 0) & (ih > 0) & (uni > 0) & (inter / uni > thr).
   On x86 the lanes' results become one int through a movemask: compilers reduce them
   through a chain of shuffles, a quarter of the Cython greedy loop's time at N = 5000. */
#define CHUNK_HITS_ARGS const double *x1, const double *y1, const double *x2,              \
                        const double *y2, const double *area, double bx1, double by1,      \
                        double bx2, double by2, double barea, double thr
#if LANES != 8
#error "the chunk tests take 8 kept boxes"
#endif

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
static int chunk_hits_sse2(CHUNK_HITS_ARGS)
{
    const __m128d BX1 = _mm_set1_pd(bx1), BY1 = _mm_set1_pd(by1), BX2 = _mm_set1_pd(bx2);
    const __m128d BY2 = _mm_set1_pd(by2), BA = _mm_set1_pd(barea), T = _mm_set1_pd(thr);
    const __m128d Z = _mm_setzero_pd();
    int k, mask = 0;
    for (k = 0; k < LANES; k += 2) {
        __m128d iw = _mm_sub_pd(_mm_min_pd(BX2, _mm_loadu_pd(x2 + k)),
                                _mm_max_pd(BX1, _mm_loadu_pd(x1 + k)));
        __m128d ih = _mm_sub_pd(_mm_min_pd(BY2, _mm_loadu_pd(y2 + k)),
                                _mm_max_pd(BY1, _mm_loadu_pd(y1 + k)));
        __m128d inter = _mm_mul_pd(iw, ih);
        __m128d uni = _mm_sub_pd(_mm_add_pd(_mm_loadu_pd(area + k), BA), inter);
        __m128d ok = _mm_and_pd(_mm_and_pd(_mm_cmpgt_pd(iw, Z), _mm_cmpgt_pd(ih, Z)),
                                _mm_and_pd(_mm_cmpgt_pd(uni, Z),
                                           _mm_cmpgt_pd(_mm_div_pd(inter, uni), T)));
        mask |= _mm_movemask_pd(ok) << k;
    }
    return mask;
}
#define CHUNK_HITS_BASE chunk_hits_sse2
#else
static int chunk_hits_scalar(CHUNK_HITS_ARGS)
{
    int k, mask = 0;
    for (k = 0; k < LANES; k++) {
        const double iw = (bx2 < x2[k] ? bx2 : x2[k]) - (bx1 > x1[k] ? bx1 : x1[k]);
        const double ih = (by2 < y2[k] ? by2 : y2[k]) - (by1 > y1[k] ? by1 : y1[k]);
        const double inter = iw * ih;
        const double uni = area[k] + barea - inter;
        mask |= ((iw > 0.0) & (ih > 0.0) & (uni > 0.0) & (inter / uni > thr)) << k;
    }
    return mask;
}
#define CHUNK_HITS_BASE chunk_hits_scalar
#endif

/* scan_greedy of one chunk test, as a macro: one function per instruction set. */
#define DEFINE_SCAN_GREEDY(NAME, ATTRIBUTES, CHUNK_HITS)                                     \
ATTRIBUTES static int64_t NAME(work_t *work, const double *boxes, const item_t *cand,        \
                               int64_t ncand, double thr, int64_t max_output,                \
                               int64_t *keep_out)                                            \
{                                                                                            \
    const int64_t cap = work->cap;                                                           \
    double *const kx1 = work->cols, *const ky1 = kx1 + cap, *const kx2 = kx1 + 2 * cap,     \
                  *const ky2 = kx1 + 3 * cap, *const karea = kx1 + 4 * cap;                  \
    int64_t nkept = 0, r, k, budget = SCAN_BUDGET * ncand;                                   \
                                                                                             \
    empty_slots(work->cols, cap, 0);                                                         \
    for (r = 0; r < ncand; r++) {                                                            \
        const double *b = boxes + 4 * r;                                                     \
        const double bx1 = b[0], by1 = b[1], bx2 = b[2], by2 = b[3];                         \
        const double barea = (bx2 - bx1) * (by2 - by1);                                     \
        int hit = 0;                                                                         \
        for (k = 0; k < nkept && !hit; k += LANES)                                           \
            hit = CHUNK_HITS(kx1 + k, ky1 + k, kx2 + k, ky2 + k, karea + k, bx1, by1, bx2,   \
                             by2, barea, thr) != 0;                                          \
        budget -= k / LANES;                                                                 \
        if (budget < 0)                                                                      \
            return -3;                                                                       \
        if (hit)                                                                             \
            continue;                                                                        \
        keep_out[nkept] = cand[r].index;                                                     \
        kx1[nkept] = bx1;                                                                    \
        ky1[nkept] = by1;                                                                    \
        kx2[nkept] = bx2;                                                                    \
        ky2[nkept] = by2;                                                                    \
        karea[nkept] = barea;                                                                \
        nkept++;                                                                             \
        if (nkept == max_output)                                                             \
            break;                                                                           \
        if (nkept % LANES == 0)                                                              \
            empty_slots(work->cols, cap, nkept);                                             \
    }                                                                                        \
    return nkept;                                                                            \
}

/* greedy() without a grid, for at most SCAN_MAX candidates: each candidate is tested
   against every kept box, LANES at a time (chunk_hits), the kept boxes being columns of
   work->cols; the slots after the last kept box hold the empty box. Same decisions as
   greedy(): its grid only skips pairs that cannot suppress. Returns -3, having decided
   nothing, once more than SCAN_BUDGET * ncand groups of LANES kept boxes were tested
   (many boxes kept: the grid is quicker, and the work lost is at most that budget).
   On x86-64 glibc with GCC it is compiled twice, for the baseline (SSE2) and for AVX2
   (four doubles per instruction), and picked once per process by the CPU's features. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__GLIBC__)
#include <immintrin.h>
__attribute__((target("avx2"))) static int chunk_hits_avx2(CHUNK_HITS_ARGS)
{
    const __m256d BX1 = _mm256_set1_pd(bx1), BY1 = _mm256_set1_pd(by1);
    const __m256d BX2 = _mm256_set1_pd(bx2), BY2 = _mm256_set1_pd(by2);
    const __m256d BA = _mm256_set1_pd(barea), T = _mm256_set1_pd(thr);
    const __m256d Z = _mm256_setzero_pd();
    int k, mask = 0;
    for (k = 0; k < LANES; k += 4) {
        __m256d iw = _mm256_sub_pd(_mm256_min_pd(BX2, _mm256_loadu_pd(x2 + k)),
                                   _mm256_max_pd(BX1, _mm256_loadu_pd(x1 + k)));
        __m256d ih = _mm256_sub_pd(_mm256_min_pd(BY2, _mm256_loadu_pd(y2 + k)),
                                   _mm256_max_pd(BY1, _mm256_loadu_pd(y1 + k)));
        __m256d inter = _mm256_mul_pd(iw, ih);
        __m256d uni = _mm256_sub_pd(_mm256_add_pd(_mm256_loadu_pd(area + k), BA), inter);
        __m256d ok = _mm256_and_pd(
            _mm256_and_pd(_mm256_cmp_pd(iw, Z, _CMP_GT_OQ), _mm256_cmp_pd(ih, Z, _CMP_GT_OQ)),
            _mm256_and_pd(_mm256_cmp_pd(uni, Z, _CMP_GT_OQ),
                          _mm256_cmp_pd(_mm256_div_pd(inter, uni), T, _CMP_GT_OQ)));
        mask |= _mm256_movemask_pd(ok) << k;
    }
    return mask;
}

DEFINE_SCAN_GREEDY(scan_greedy_avx2, __attribute__((target("avx2"))), chunk_hits_avx2)
DEFINE_SCAN_GREEDY(scan_greedy_base, , CHUNK_HITS_BASE)

/* -1 until decided once per process; threads that race here store the same value. */
static int scan_avx2 = -1;

int accel_nms_scan_avx2(int want)
{
    int use = __atomic_load_n(&scan_avx2, __ATOMIC_RELAXED);
    if (use < 0 || want >= 0) {
        __builtin_cpu_init();
        use = __builtin_cpu_supports("avx2") != 0 && want != 0;
        __atomic_store_n(&scan_avx2, use, __ATOMIC_RELAXED);
    }
    return use;
}

static int64_t scan_greedy(work_t *work, const double *boxes, const item_t *cand,
                           int64_t ncand, double thr, int64_t max_output, int64_t *keep_out)
{
    if (accel_nms_scan_avx2(-1))
        return scan_greedy_avx2(work, boxes, cand, ncand, thr, max_output, keep_out);
    return scan_greedy_base(work, boxes, cand, ncand, thr, max_output, keep_out);
}
#else
DEFINE_SCAN_GREEDY(scan_greedy, , CHUNK_HITS_BASE)

int accel_nms_scan_avx2(int want)
{
    (void)want;
    return 0;
}
#endif

/* Greedy NMS over cand[0..ncand), already in visiting order and all of one class (or
   class-agnostic), with the box of cand[r] at boxes[4 * r] (gathered in that order):
   the reference's _greedy with its grid built over these candidates. Writes the kept
   indices to keep_out; returns their count, or -1 if memory ran out. */
static int64_t greedy(work_t *work, const double *boxes, const item_t *cand,
                      int64_t ncand, double iou_threshold, int64_t max_output,
                      int64_t *keep_out)
{
    kept_t *kept;
    cell_t *cells;
    int64_t nkept = 0, nwide = 0, r, c, ncells;
    grid_t g;

    if (ncand <= SCAN_MAX) {
        nkept = scan_greedy(work, boxes, cand, ncand, iou_threshold, max_output, keep_out);
        if (nkept != -3)
            return nkept;
        nkept = 0;
    }
    if (work->kept == NULL) {
        work->kept = (kept_t *)malloc((size_t)work->max_keep * sizeof(kept_t));
        work->wide = (int64_t *)malloc((size_t)work->max_keep * sizeof(int64_t));
        if (work->kept == NULL || work->wide == NULL)
            return -1;
    }
    kept = work->kept;

    { /* the grid over the candidates' extent (reference: _Grid.__init__) */
        const double *b = boxes;
        double min_x = b[0], min_y = b[1], max_x = b[2], max_y = b[3];
        double width = 0.0, height = 0.0;
        for (r = 0; r < ncand; r++) {
            b = boxes + 4 * r;
            if (b[0] < min_x)
                min_x = b[0];
            if (b[1] < min_y)
                min_y = b[1];
            if (b[2] > max_x)
                max_x = b[2];
            if (b[3] > max_y)
                max_y = b[3];
            width += b[2] - b[0];
            height += b[3] - b[1];
        }
        g.min_x = min_x;
        g.min_y = min_y;
        g.nx = axis_cells(min_x, max_x, width, ncand, &g.fx);
        g.ny = axis_cells(min_y, max_y, height, ncand, &g.fy);
    }
    ncells = (int64_t)g.nx * g.ny;
    if (ncells > work->ncells) {
        cells = (cell_t *)realloc(work->cells, (size_t)ncells * sizeof(cell_t));
        if (cells == NULL)
            return -1;
        memset(cells + work->ncells, 0, (size_t)(ncells - work->ncells) * sizeof(cell_t));
        work->cells = cells;
        work->ncells = ncells;
    }
    cells = work->cells;
    for (c = 0; c < ncells; c++)
        cells[c].len = 0;

    for (r = 0; r < ncand; r++) {
        const int64_t idx = cand[r].index;
        const double *b = boxes + 4 * r;
        const double bx1 = b[0], by1 = b[1], bx2 = b[2], by2 = b[3];
        const double barea = (bx2 - bx1) * (by2 - by1);
        const range_t cr = cell_range(&g, bx1, by1, bx2, by2);
        const int is_wide = range_cells(cr) > MAX_CELLS_PER_BOX;
        int suppressed = 0, cx, cy;
        int64_t k;

        if (is_wide) { /* covers too many cells: check every kept box */
            for (k = 0; k < nkept && !suppressed; k++)
                suppressed = overlaps(&kept[k], bx1, by1, bx2, by2, barea, iou_threshold);
        } else {
            for (k = 0; k < nwide && !suppressed; k++)
                suppressed =
                    overlaps(&kept[work->wide[k]], bx1, by1, bx2, by2, barea, iou_threshold);
            for (cy = cr.cy0; cy <= cr.cy1 && !suppressed; cy++) {
                for (cx = cr.cx0; cx <= cr.cx1 && !suppressed; cx++) {
                    const cell_t *cell = &cells[(int64_t)cy * g.nx + cx];
                    suppressed = cell_overlaps(cell->items, cell->items + cell->len, cx, cy,
                                               &cr, bx1, by1, bx2, by2, barea,
                                               iou_threshold);
                }
            }
        }
        if (suppressed)
            continue;

        keep_out[nkept] = idx;
        kept[nkept].x1 = bx1;
        kept[nkept].y1 = by1;
        kept[nkept].x2 = bx2;
        kept[nkept].y2 = by2;
        kept[nkept].area = barea;
        kept[nkept].cx0 = cr.cx0;
        kept[nkept].cy0 = cr.cy0;
        nkept++;
        if (nkept == max_output)
            break;
        if (is_wide) {
            work->wide[nwide++] = nkept - 1;
            continue;
        }
        for (cy = cr.cy0; cy <= cr.cy1; cy++)
            for (cx = cr.cx0; cx <= cr.cx1; cx++)
                if (cell_push(&cells[(int64_t)cy * g.nx + cx], &kept[nkept - 1]) != 0)
                    return -1;
    }
    return nkept;
}

/* Element i of a float32 (f32 != 0) or float64 array, as a double (exact). */
/* The passes over the caller's float32 or float64 arrays, one function per dtype: the
   value checks have no branch, so the compiler vectorises them (a NaN fails every
   comparison). At N=500, one generic loop reading every value through a dtype test
   took a third of the kernel's instructions; these take the kernel from 12.5 to 11.3 us. */
#define DEFINE_CHECKS(T, SUFFIX)                                                          \
    static int boxes_valid_##SUFFIX(const T *b, int64_t n)                                \
    {                                                                                     \
        int valid = 1;                                                                    \
        int64_t i;                                                                        \
        for (i = 0; i < n; i++) {                                                         \
            const double x1 = b[4 * i], y1 = b[4 * i + 1], x2 = b[4 * i + 2],             \
                         y2 = b[4 * i + 3];                                               \
            valid &= (x1 <= x2) & (y1 <= y2) & (x1 > -HUGE_VAL) & (x2 < HUGE_VAL) &       \
                     (y1 > -HUGE_VAL) & (y2 < HUGE_VAL);                                  \
        }                                                                                 \
        return valid;                                                                     \
    }                                                                                     \
    static int scores_valid_##SUFFIX(const T *s, int64_t n)                               \
    {                                                                                     \
        int valid = 1;                                                                    \
        int64_t i;                                                                        \
        for (i = 0; i < n; i++)                                                           \
            valid &= ((double)s[i] > -HUGE_VAL) & ((double)s[i] < HUGE_VAL);              \
        return valid;                                                                     \
    }                                                                                     \
    static int64_t candidates_##SUFFIX(const T *s, int64_t n, double score_threshold,     \
                                       item_t *order)                                     \
    {                                                                                     \
        int64_t i, ncand = 0;                                                             \
        for (i = 0; i < n; i++) {                                                         \
            const double score = s[i];                                                    \
            if (score > score_threshold) {                                                \
                order[ncand].key = score_key(score);                                      \
                order[ncand].index = i;                                                   \
                ncand++;                                                                  \
            }                                                                             \
        }                                                                                 \
        return ncand;                                                                     \
    }                                                                                     \
    static void gather_##SUFFIX(const T *b, const item_t *order, int64_t ncand,           \
                                double *out)                                              \
    {                                                                                     \
        int64_t i;                                                                        \
        for (i = 0; i < ncand; i++) {                                                     \
            const T *box = b + 4 * order[i].index;                                        \
            out[4 * i] = box[0];                                                          \
            out[4 * i + 1] = box[1];                                                      \
            out[4 * i + 2] = box[2];                                                      \
            out[4 * i + 3] = box[3];                                                      \
        }                                                                                 \
    }

DEFINE_CHECKS(float, f32)
DEFINE_CHECKS(double, f64)

int64_t accel_nms(const void *boxes_in, int boxes_f32, const void *scores, int scores_f32,
                  const int64_t *classes, int64_t n, double iou_threshold,
                  double score_threshold, int64_t max_output, int64_t *keep_out)
{
    item_t *order = NULL, *tmp = NULL;
    double *cand_boxes = NULL;
    int64_t *by_score = NULL;
    unsigned char *is_kept = NULL;
    work_t work = {NULL, 0, NULL, NULL, NULL, 0, 0};
    int64_t ncand = 0, max_keep, total = 0, start, end, i, count;
    int64_t result = -1;

    if (n <= 0)
        return 0;
    if (!CHECK_SIZE(n, item_t) || !CHECK_SIZE(n, kept_t) || !CHECK_SIZE(4 * n, double))
        return -1;

    /* Every box and score checked first, then the candidates: score > score_threshold,
       by decreasing score, ties by increasing index (listed by increasing index, then a
       stable sort by score). */
    order = (item_t *)malloc((size_t)n * sizeof(item_t));
    if (order == NULL)
        goto done;
    if (!(boxes_f32 ? boxes_valid_f32((const float *)boxes_in, n)
                    : boxes_valid_f64((const double *)boxes_in, n)) ||
        !(scores_f32 ? scores_valid_f32((const float *)scores, n)
                     : scores_valid_f64((const double *)scores, n))) {
        result = -2;
        goto done;
    }
    ncand = scores_f32 ? candidates_f32((const float *)scores, n, score_threshold, order)
                       : candidates_f64((const double *)scores, n, score_threshold, order);
    if (ncand == 0 || max_output <= 0) {
        result = 0;
        goto done;
    }
    tmp = (item_t *)malloc((size_t)ncand * sizeof(item_t));
    if (tmp == NULL)
        goto done;
    score_sort(order, tmp, (size_t)ncand);
    if (classes != NULL) {
        /* Batched NMS is exactly NMS run on each class, so each class is run on its own,
           with its own grid (a kept box of another class can never suppress). A stable
           sort by class groups the classes, each still in candidate order. */
        by_score = (int64_t *)malloc((size_t)ncand * sizeof(int64_t));
        if (by_score == NULL)
            goto done;
        for (i = 0; i < ncand; i++) {
            by_score[i] = order[i].index;
            order[i].key = class_key(classes[order[i].index]);
        }
        radix_sort(order, tmp, (size_t)ncand);
    }
    free(tmp);
    tmp = NULL;
    /* The candidates' boxes in visiting order: the greedy loop then reads memory in
       sequence, and this gather has independent loads that overlap their misses. */
    cand_boxes = (double *)malloc((size_t)ncand * 4 * sizeof(double));
    if (cand_boxes == NULL)
        goto done;
    if (boxes_f32)
        gather_f32((const float *)boxes_in, order, ncand, cand_boxes);
    else
        gather_f64((const double *)boxes_in, order, ncand, cand_boxes);

    max_keep = max_output < ncand ? max_output : ncand;
    /* scan_greedy's columns (a run of at most SCAN_MAX candidates: a class, or all);
       greedy() allocates its kept list when it first needs the grid */
    work.max_keep = max_keep;
    work.cap = (max_keep < SCAN_MAX ? max_keep : SCAN_MAX) + LANES;
    work.cols = (double *)malloc((size_t)(5 * work.cap) * sizeof(double));
    if (work.cols == NULL)
        goto done;

    /* One run per class (a single run without classes). Each class keeps at most
       max_output boxes, all that the merged top max_output can use. */
    for (start = 0; start < ncand; start = end) {
        end = start + 1;
        if (classes == NULL)
            end = ncand;
        else
            while (end < ncand && order[end].key == order[start].key)
                end++;
        count = greedy(&work, cand_boxes + 4 * start, order + start, end - start,
                       iou_threshold, max_output, keep_out + total);
        if (count < 0)
            goto done;
        total += count;
    }
    if (classes != NULL && total > 0) {
        /* Merge the classes: the kept boxes in candidate order, the first max_output. */
        is_kept = (unsigned char *)calloc((size_t)n, 1);
        if (is_kept == NULL)
            goto done;
        for (i = 0; i < total; i++)
            is_kept[keep_out[i]] = 1;
        total = 0;
        for (i = 0; i < ncand && total < max_output; i++)
            if (is_kept[by_score[i]])
                keep_out[total++] = by_score[i];
    }
    result = total;

done:
    for (i = 0; i < work.ncells; i++)
        free(work.cells[i].items);
    free(work.cells);
    free(work.kept);
    free(work.wide);
    free(work.cols);
    free(order);
    free(tmp);
    free(cand_boxes);
    free(by_score);
    free(is_kept);
    return result;
}

/* ---------------------------------------------------------------- Soft-NMS */

typedef struct {
    double x1, y1, x2, y2, area, score;
    int64_t index;
} live_t;

int64_t accel_soft_nms(const double *boxes, const double *scores, int64_t n, int gaussian,
                       double sigma, double iou_threshold, double score_threshold,
                       int64_t max_output, int64_t *keep_out, double *scores_out)
{
    live_t *alive;
    int64_t m = 0, best = 0, count = 0, i, p;

    if (n <= 0 || max_output <= 0)
        return 0;
    if (!CHECK_SIZE(n, live_t))
        return -1;
    alive = (live_t *)malloc((size_t)n * sizeof(live_t));
    if (alive == NULL)
        return -1;

    /* Alive boxes, kept in increasing index order throughout. */
    for (i = 0; i < n; i++) {
        if (scores[i] >= score_threshold) {
            const double *b = boxes + 4 * i;
            live_t *a = &alive[m++];
            a->x1 = b[0];
            a->y1 = b[1];
            a->x2 = b[2];
            a->y2 = b[3];
            a->area = (b[2] - b[0]) * (b[3] - b[1]);
            a->score = scores[i];
            a->index = i;
        }
    }
    for (p = 1; p < m; p++) /* strict '>' keeps the lower index on ties */
        if (alive[p].score > alive[best].score)
            best = p;

    while (m > 0 && count < max_output) {
        const live_t sel = alive[best];
        int64_t w = 0, next_best = 0;

        keep_out[count] = sel.index;
        scores_out[count] = sel.score;
        count++;
        if (count == max_output)
            break; /* the decay below could not change the result */
        /* Decay the others, drop those below the threshold, compact in place and find
           the next selection (the first maximum in index order) in the same pass. */
        for (p = 0; p < m; p++) {
            live_t *b = &alive[p];
            /* The reference's iou(sel, b), its tests made without a branch each (they
               pass and fail unpredictably); as there, the quotient is taken only when
               iw > 0, ih > 0 and union > 0, and the IoU is 0 otherwise, which decays
               nothing. Coordinates are finite: iw and ih are never NaN. */
            const double iw = (b->x2 < sel.x2 ? b->x2 : sel.x2) -
                              (b->x1 > sel.x1 ? b->x1 : sel.x1);
            const double ih = (b->y2 < sel.y2 ? b->y2 : sel.y2) -
                              (b->y1 > sel.y1 ? b->y1 : sel.y1);
            const double inter = iw * ih;
            const double uni = sel.area + b->area - inter;
            int keep;
            if ((iw > 0.0) & (ih > 0.0) & (uni > 0.0) & (p != best)) {
                const double overlap = inter / uni;
                if (gaussian) {
                    if (overlap > 0.0)
                        b->score = b->score * exp(-(overlap * overlap) / sigma);
                } else if (overlap > iou_threshold) {
                    b->score = b->score * (1.0 - overlap);
                }
            }
            keep = (p != best) & (b->score >= score_threshold);
            if (keep && w > 0 && b->score > alive[next_best].score)
                next_best = w;
            alive[w] = *b; /* compact without a branch: overwritten unless kept */
            w += keep;
        }
        m = w;
        best = next_best;
    }
    free(alive);
    return count;
}
