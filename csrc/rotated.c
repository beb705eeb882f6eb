/* accel C kernels: greedy rotated NMS (plain and class-aware), polygon and probiou IoU;
   ultralytics' fast NMS over probiou.

   A port of the pure-Python reference, accel/_backends/python/rotated.py, with identical
   results: the same candidate order, the same float64 IoU operations in the same order
   (polygon: circle test, Sutherland-Hodgman clip of the kept box by the candidate's four
   edges, shoelace area; probiou: the same libm log, exp and sqrt as Python's math), the
   same greedy decisions. Batched NMS runs one class at a time (it is by definition NMS
   per class, merged), like nms.c.

   For speed, the polygon IoU is only computed for the pairs that a uniform grid cannot
   rule out. Each candidate's grid key is the square around its circle, widened by a
   margin (see square_margin) large enough that two boxes whose squares fall in disjoint
   cells fail the reference's circle test as computed in float64, and so have IoU 0: the
   grid never skips a pair the reference would clip, and never changes a result. The grid
   is used only while every centre and radius is at most GRID_LIMIT in magnitude (the
   squares in the circle test then cannot overflow); beyond, every kept box is tested.
   probiou has no such filter (its IoU is never exactly 0): each candidate is tested
   against every kept box of its class.

   Fast NMS tests a candidate against every earlier candidate, kept or not, that the
   bounds of accel/_backends/__init__.py ("fast_nms_rotated") cannot rule out: a box's
   square cx +- rho lists it, before the loop, in the cells it covers of an unbounded
   grid (cells twice the mean square, hashed into buckets: class offsets spread the
   boxes along a diagonal 7680 px per class, which a grid over the extent would lump
   into a few cells), each bucket's list in visiting order; irregular boxes and squares
   over MAX_CELLS_PER_BOX cells go to a list every candidate reads. A pair read gets the
   reference's t1 + t2, and the log, exp and sqrt only when that plus the pair's t3
   bound is below the distance cut.

   Plain C99, no Python API: the function runs without the GIL. Build with
   -ffp-contract=off (setup.py does) so that no multiply-add is fused into an FMA, which
   would round differently from Python; never with -ffast-math. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rotated.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define POLYGON_COLUMNS 12
#define PROBIOU_COLUMNS 6
#define PROBIOU_EPS 1e-7 /* ultralytics' probiou epsilon, as the reference */

#define GRID_MAX 64
#define MAX_CELLS_PER_BOX 16
/* Largest centre coordinate or radius (in magnitude) for which the grid is used. */
#define GRID_LIMIT 1e150
/* Sutherland-Hodgman emits at most two vertices per input vertex: 4 -> 8 -> 16 -> 32 ->
   64 bounds the clipped polygon, whatever rounding does to a nearly degenerate one (for
   convex input, which is the usual case, it never exceeds 8). */
#define CLIP_MAX 64

#define CHECK_SIZE(count, type) ((uint64_t)(count) <= (uint64_t)(SIZE_MAX / sizeof(type)))

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

/* Stable LSD radix sort of a[0..n) by increasing key (nms.c's): 8 bits at a time,
   skipping the bytes every key shares, a stable insertion sort for small n; tmp holds n
   items. Sorting candidates listed by increasing index by score_key gives the
   reference's order (decreasing score, ties by increasing index). */
static void radix_sort(item_t *a, item_t *tmp, size_t n)
{
    size_t counts[8][256];
    item_t *src = a, *dst = tmp, *swap;
    size_t i;
    int pass, d;

    if (n < 64) {
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
            continue;
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

/* ---------------------------------------------------------------- polygon IoU */

/* The candidate (box i of the reference's polygon_iou): its four edges, as clip_polygon
   computes them (start a, direction e), its circle and its area. */
typedef struct {
    double ax[4], ay[4], ex[4], ey[4];
    double cx, cy, r, area;
} cand_t;

static void cand_load(cand_t *c, const double *q)
{
    int edge;
    for (edge = 0; edge < 4; edge++) {
        const int nxt = edge < 3 ? edge + 1 : 0;
        c->ax[edge] = q[2 * edge];
        c->ay[edge] = q[2 * edge + 1];
        c->ex[edge] = q[2 * nxt] - q[2 * edge];
        c->ey[edge] = q[2 * nxt + 1] - q[2 * edge + 1];
    }
    c->cx = q[8];
    c->cy = q[9];
    c->r = q[10];
    c->area = q[11];
}

/* True when the polygon IoU of the kept box p (its geometry row) and the candidate c is
   > thr, given that their circles meet (the reference's circle test already passed):
   the reference's clip_polygon, polygon_area and the end of polygon_iou, operation for
   operation. */
static int polygon_overlaps(const double *p, const cand_t *c, double thr)
{
    double xs[2][CLIP_MAX], ys[2][CLIP_MAX], side[CLIP_MAX];
    double *px = xs[0], *py = ys[0], *ox = xs[1], *oy = ys[1], *swap;
    double inter, uni;
    int count = 4, edge, i;

    for (i = 0; i < 4; i++) {
        px[i] = p[2 * i];
        py[i] = p[2 * i + 1];
    }
    for (edge = 0; edge < 4 && count > 0; edge++) {
        const double ax = c->ax[edge], ay = c->ay[edge], ex = c->ex[edge], ey = c->ey[edge];
        double sx, sy, s_side;
        int out = 0;
        for (i = 0; i < count; i++)
            side[i] = ex * (py[i] - ay) - ey * (px[i] - ax);
        sx = px[count - 1];
        sy = py[count - 1];
        s_side = side[count - 1];
        for (i = 0; i < count; i++) {
            const double cx = px[i], cy = py[i], c_side = side[i];
            if (c_side >= 0.0) {
                if (s_side < 0.0) {
                    const double t = s_side / (s_side - c_side);
                    ox[out] = sx + t * (cx - sx);
                    oy[out] = sy + t * (cy - sy);
                    out++;
                }
                ox[out] = cx;
                oy[out] = cy;
                out++;
            } else if (s_side >= 0.0) {
                const double t = s_side / (s_side - c_side);
                ox[out] = sx + t * (cx - sx);
                oy[out] = sy + t * (cy - sy);
                out++;
            }
            sx = cx;
            sy = cy;
            s_side = c_side;
        }
        swap = px;
        px = ox;
        ox = swap;
        swap = py;
        py = oy;
        oy = swap;
        count = out;
    }
    if (count < 3) {
        inter = 0.0;
    } else {
        double total = 0.0;
        for (i = 0; i < count; i++) {
            const int j = i + 1 < count ? i + 1 : 0;
            total += px[i] * py[j] - px[j] * py[i];
        }
        inter = 0.5 * total;
    }
    if (inter < 0.0)
        inter = 0.0;
    uni = p[11] + c->area - inter;
    return (uni > 0.0 ? inter / uni : 0.0) > thr;
}

/* ---------------------------------------------------------------- probiou */

/* True when the reference's probiou(k, i) of the kept box p and the candidate q (their
   geometry rows) is > thr, operation for operation. */
static int probiou_overlaps(const double *p, const double *q, double thr)
{
    const double x1 = p[0], y1 = p[1], x2 = q[0], y2 = q[1];
    const double a = p[2] + q[2];
    const double b = p[3] + q[3];
    const double c = p[4] + q[4];
    double spread = a * b - c * c, denominator, dy, dx, t1, t2, t3, distance;
    if (spread < 0.0)
        spread = 0.0;
    denominator = spread + PROBIOU_EPS;
    dy = y1 - y2;
    dx = x1 - x2;
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25;
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5;
    t3 = log(spread / (4.0 * sqrt(p[5] * q[5]) + PROBIOU_EPS) + PROBIOU_EPS) * 0.5;
    distance = t1 + t2 + t3;
    if (distance < PROBIOU_EPS)
        distance = PROBIOU_EPS;
    else if (distance > 100.0)
        distance = 100.0;
    return 1.0 - sqrt(1.0 - exp(-distance) + PROBIOU_EPS) > thr;
}

/* Greedy probiou NMS over ncand candidates of one class (or class-agnostic), their rows
   at geo (6 each) in visiting order, cand[r].index the box of row r. kept holds room for
   6 * min(ncand, max_output) doubles. Returns the kept count. */
static int64_t greedy_probiou(const double *geo, const item_t *cand, int64_t ncand,
                              double thr, int64_t max_output, double *kept,
                              int64_t *keep_out)
{
    int64_t nkept = 0, r, k;
    for (r = 0; r < ncand; r++) {
        const double *q = geo + PROBIOU_COLUMNS * r;
        int suppressed = 0;
        for (k = 0; k < nkept; k++) {
            if (probiou_overlaps(kept + PROBIOU_COLUMNS * k, q, thr)) {
                suppressed = 1;
                break;
            }
        }
        if (suppressed)
            continue;
        memcpy(kept + PROBIOU_COLUMNS * nkept, q, PROBIOU_COLUMNS * sizeof(double));
        keep_out[nkept++] = cand[r].index;
        if (nkept == max_output)
            break;
    }
    return nkept;
}

/* ---------------------------------------------------------------- uniform grid */

typedef struct {
    int nx, ny;
    double min_x, min_y, fx, fy;
} grid_t;

/* Cells along one axis and the coordinate-to-cell factor (nms.c's axis_cells): one cell
   when the extent is empty, not finite or not wide against the mean square; GRID_MAX at
   most. Every test comes before the conversion to int. */
static int axis_cells(double lo, double hi, double total_width, int64_t count, double *factor)
{
    double span = hi - lo, mean_width, cells, f;
    int n;

    *factor = 0.0;
    if (count == 0 || !(span > 0.0) || span == HUGE_VAL)
        return 1;
    mean_width = total_width / (double)count;
    if (!(mean_width > 0.0))
        return 1;
    cells = span / (2.0 * mean_width);
    if (!(cells >= 2.0))
        return 1;
    n = cells >= (double)GRID_MAX ? GRID_MAX : (int)cells;
    f = (double)n / span;
    if (f == HUGE_VAL)
        return 1;
    *factor = f;
    return n;
}

/* Cell of an offset from the grid origin: min(n - 1, floor(offset * factor)), a
   non-decreasing function of the offset (so of the coordinate). */
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

/* Half the side of a box's grid square: its radius, widened so that the grid is
   conservative. If two squares lie in disjoint cells, then (cell_of being monotonic) the
   computed hi of one is below the computed lo of the other, so the exact centre distance
   along that axis exceeds m_k + m_i minus the rounding of the four bounds (at most
   2^-53 (|c| + m) each). The terms 1e-12 |c| and 1e-9 r absorb that rounding and the
   rounding of the reference's dx, dx*dx + dy*dy, reach and reach*reach (a few 2^-53
   relative each), and 1e-150 keeps dx*dx above the subnormal range. So the reference's
   "dx*dx + dy*dy > reach*reach" holds: IoU 0, nothing to test. Needs |c|, r <=
   GRID_LIMIT (no overflow in the squares). */
static double square_margin(double cx, double cy, double r)
{
    const double c = fabs(cx) > fabs(cy) ? fabs(cx) : fabs(cy);
    return r + r * 1e-9 + c * 1e-12 + 1e-150;
}

static range_t square_range(const grid_t *g, const double *q)
{
    range_t out = {0, 0, 0, 0};
    const double m = square_margin(q[8], q[9], q[10]);
    if (g->nx > 1) {
        out.cx0 = cell_of((q[8] - m) - g->min_x, g->fx, g->nx);
        out.cx1 = cell_of((q[8] + m) - g->min_x, g->fx, g->nx);
    }
    if (g->ny > 1) {
        out.cy0 = cell_of((q[9] - m) - g->min_y, g->fy, g->ny);
        out.cy1 = cell_of((q[9] + m) - g->min_y, g->fy, g->ny);
    }
    return out;
}

static int64_t range_cells(range_t r)
{
    return (int64_t)(r.cx1 - r.cx0 + 1) * (int64_t)(r.cy1 - r.cy0 + 1);
}

/* ---------------------------------------------------------------- greedy polygon NMS */

/* A kept box as stored in the kept list and, copied, in every grid cell its square
   covers: its circle for the reference's test, its row for the clip, its first cell (to
   test each pair once). */
typedef struct {
    double cx, cy, r;
    int64_t row;
    int cx0, cy0;
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
} work_t;

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

/* The reference's polygon_iou(k, i) > thr for the kept box a and the candidate c. */
static int pair_overlaps(const kept_t *a, const double *geo, const cand_t *c, double thr)
{
    const double dx = a->cx - c->cx, dy = a->cy - c->cy, reach = a->r + c->r;
    if (dx * dx + dy * dy > reach * reach)
        return 0;
    return polygon_overlaps(geo + POLYGON_COLUMNS * a->row, c, thr);
}

/* pair_overlaps() for the kept boxes [a, end) of grid cell (cx, cy) of the candidate's
   range cr; a kept box sharing several cells with the candidate counts in the first
   shared one only. The circle tests are made CELL_BLOCK at a time without a branch (they
   pass and fail unpredictably), collecting the pairs to clip. */
#define CELL_BLOCK 16
static int cell_overlaps(const kept_t *a, const kept_t *end, int cx, int cy,
                         const range_t *cr, const double *geo, const cand_t *c, double thr)
{
    int64_t rows[CELL_BLOCK];
    while (a < end) {
        const kept_t *stop = end - a > CELL_BLOCK ? a + CELL_BLOCK : end;
        int m = 0, j;
        for (; a < stop; a++) {
            const double dx = a->cx - c->cx, dy = a->cy - c->cy, reach = a->r + c->r;
            rows[m] = a->row;
            m += (cx == (a->cx0 > cr->cx0 ? a->cx0 : cr->cx0)) &
                 (cy == (a->cy0 > cr->cy0 ? a->cy0 : cr->cy0)) &
                 !(dx * dx + dy * dy > reach * reach);
        }
        for (j = 0; j < m; j++)
            if (polygon_overlaps(geo + POLYGON_COLUMNS * rows[j], c, thr))
                return 1;
    }
    return 0;
}

/* Greedy polygon NMS over ncand candidates of one class (or class-agnostic), their rows
   at geo (12 each) in visiting order, cand[r].index the box of row r. Writes the kept
   indices to keep_out; returns their count, or -1 if memory ran out. */
static int64_t greedy_polygon(work_t *work, const double *geo, const item_t *cand,
                              int64_t ncand, double thr, int64_t max_output,
                              int64_t *keep_out)
{
    kept_t *const kept = work->kept;
    cell_t *cells;
    int64_t nkept = 0, nwide = 0, r, c, ncells;
    grid_t g;

    { /* the grid over the candidates' squares, if their magnitudes allow */
        double min_x = HUGE_VAL, min_y = HUGE_VAL, max_x = -HUGE_VAL, max_y = -HUGE_VAL;
        double width = 0.0;
        int usable = 1;
        for (r = 0; r < ncand; r++) {
            const double *q = geo + POLYGON_COLUMNS * r;
            const double m = square_margin(q[8], q[9], q[10]);
            usable &= (fabs(q[8]) <= GRID_LIMIT) & (fabs(q[9]) <= GRID_LIMIT) &
                      (q[10] >= 0.0) & (q[10] <= GRID_LIMIT);
            if (q[8] - m < min_x)
                min_x = q[8] - m;
            if (q[8] + m > max_x)
                max_x = q[8] + m;
            if (q[9] - m < min_y)
                min_y = q[9] - m;
            if (q[9] + m > max_y)
                max_y = q[9] + m;
            width += 2.0 * m;
        }
        g.min_x = min_x;
        g.min_y = min_y;
        g.fx = g.fy = 0.0;
        g.nx = g.ny = 1;
        if (usable) {
            g.nx = axis_cells(min_x, max_x, width, ncand, &g.fx);
            g.ny = axis_cells(min_y, max_y, width, ncand, &g.fy);
        }
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
        const double *q = geo + POLYGON_COLUMNS * r;
        const range_t cr = square_range(&g, q);
        const int is_wide = range_cells(cr) > MAX_CELLS_PER_BOX;
        int suppressed = 0, cx, cy;
        int64_t k;
        cand_t cd;

        cand_load(&cd, q);
        if (is_wide) { /* covers too many cells: check every kept box */
            for (k = 0; k < nkept && !suppressed; k++)
                suppressed = pair_overlaps(&kept[k], geo, &cd, thr);
        } else {
            for (k = 0; k < nwide && !suppressed; k++)
                suppressed = pair_overlaps(&kept[work->wide[k]], geo, &cd, thr);
            for (cy = cr.cy0; cy <= cr.cy1 && !suppressed; cy++) {
                for (cx = cr.cx0; cx <= cr.cx1 && !suppressed; cx++) {
                    const cell_t *cell = &cells[(int64_t)cy * g.nx + cx];
                    suppressed = cell_overlaps(cell->items, cell->items + cell->len, cx, cy,
                                               &cr, geo, &cd, thr);
                }
            }
        }
        if (suppressed)
            continue;

        keep_out[nkept] = cand[r].index;
        kept[nkept].cx = q[8];
        kept[nkept].cy = q[9];
        kept[nkept].r = q[10];
        kept[nkept].row = r;
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

/* ---------------------------------------------------------------- fast NMS */

#define REGULAR_D 1e-5 /* the bounds of a "regular" box: see accel/_backends */
#define CONDITION 1e8
#define SANE 1e150

/* The reference's probiou(k, i) > thr of rows p (earlier) and q, without the log, exp
   and sqrt when t1 + t2 + t3_floor >= cut proves it false. */
static int fast_overlaps(const double *p, const double *q, double thr, double cut,
                         double t3_floor)
{
    const double x1 = p[0], y1 = p[1], x2 = q[0], y2 = q[1];
    const double a = p[2] + q[2];
    const double b = p[3] + q[3];
    const double c = p[4] + q[4];
    double spread = a * b - c * c, denominator, dy, dx, t1, t2, t12, t3, distance;
    if (spread < 0.0)
        spread = 0.0;
    denominator = spread + PROBIOU_EPS;
    dy = y1 - y2;
    dx = x1 - x2;
    t1 = (a * (dy * dy) + b * (dx * dx)) / denominator * 0.25;
    t2 = (c * (x2 - x1) * (y1 - y2)) / denominator * 0.5;
    t12 = t1 + t2;
    if (t12 + t3_floor >= cut)
        return 0;
    t3 = log(spread / (4.0 * sqrt(p[5] * q[5]) + PROBIOU_EPS) + PROBIOU_EPS) * 0.5;
    distance = t12 + t3;
    if (distance < PROBIOU_EPS)
        distance = PROBIOU_EPS;
    else if (distance > 100.0)
        distance = 100.0;
    return 1.0 - sqrt(1.0 - exp(-distance) + PROBIOU_EPS) > thr;
}

typedef struct {
    double lo_x, hi_x, lo_y, hi_y;
    int64_t x0, x1, y0, y1;
    int regular, wide;
} fast_box_t;

/* Cells per axis at most: cell indices times the hash multipliers stay below 2^63. */
#define HASH_SPAN 1073741824.0

static int64_t fast_cell(double offset, double side)
{
    const double v = offset / side;
    return v > 0.0 ? (int64_t)v : 0;
}

static int64_t fast_bucket(int64_t cx, int64_t cy, int64_t mask)
{
    int64_t h = (cx * 73856093) ^ (cy * 19349663);
    return (h ^ (h >> 20)) & mask;
}

/* Fast NMS over the m candidates' rows geo (6 each, visiting order; cand[r].index the
   box of row r). boxes and seen hold m entries. Returns the kept count or -1. */
static int64_t fast_probiou(const double *geo, const item_t *cand, int64_t m, double thr,
                            int64_t max_output, fast_box_t *boxes, int64_t *seen,
                            int64_t *keep_out)
{
    const double bound = -log(1.0 + PROBIOU_EPS - (1.0 - thr) * (1.0 - thr));
    const double t3_any = 0.5 * log(PROBIOU_EPS) - 1e-9;
    double cut, t3_regular, scale, side, smallest = HUGE_VAL, width = 0.0;
    double min_x = HUGE_VAL, min_y = HUGE_VAL, max_x = -HUGE_VAL, max_y = -HUGE_VAL;
    int64_t r, k, e, count = 0, nwide = 0, nkept = 0, nbuckets = 64, total, cx, cy;
    int64_t *starts = NULL, *fill = NULL, *entries = NULL, *wide = NULL;

    if (!(bound > 0.0)) { /* no distance gives a probiou above the threshold */
        for (r = 0; r < m && r < max_output; r++)
            keep_out[r] = cand[r].index;
        return r;
    }
    cut = bound + 1e-6 * (1.0 + bound);
    for (r = 0; r < m; r++) {
        const double *q = geo + PROBIOU_COLUMNS * r;
        const double trace = q[2] + q[3];
        fast_box_t *box = &boxes[r];
        box->regular = fabs(q[0]) <= SANE && fabs(q[1]) <= SANE && fabs(q[4]) < HUGE_VAL &&
                       q[5] >= REGULAR_D && q[5] < HUGE_VAL &&
                       q[5] * CONDITION >= trace * trace;
        if (box->regular && q[5] < smallest)
            smallest = q[5];
    }
    t3_regular = t3_any;
    if (smallest < HUGE_VAL) {
        const double p4 = 4.0 * smallest;
        t3_regular = 0.5 * log(p4 / (p4 + PROBIOU_EPS) + PROBIOU_EPS) - 1e-6;
    }
    scale = (cut - t3_regular) * (1.0 + 1e-5);
    for (r = 0; r < m; r++) {
        const double *q = geo + PROBIOU_COLUMNS * r;
        const double trace = q[2] + q[3];
        fast_box_t *box = &boxes[r];
        double rho, pad_x, pad_y;
        if (!box->regular)
            continue;
        rho = 2.0 * sqrt(scale * (trace + PROBIOU_EPS * trace / q[5]));
        pad_x = (fabs(q[0]) + rho) * 1e-9;
        pad_y = (fabs(q[1]) + rho) * 1e-9;
        box->lo_x = q[0] - rho - pad_x;
        box->hi_x = q[0] + rho + pad_x;
        box->lo_y = q[1] - rho - pad_y;
        box->hi_y = q[1] + rho + pad_y;
        width += box->hi_x - box->lo_x;
        count++;
        if (box->lo_x < min_x)
            min_x = box->lo_x;
        if (box->hi_x > max_x)
            max_x = box->hi_x;
        if (box->lo_y < min_y)
            min_y = box->lo_y;
        if (box->hi_y > max_y)
            max_y = box->hi_y;
    }
    /* The cell side: twice the mean square, at least the span over HASH_SPAN. */
    side = count > 0 ? 2.0 * width / (double)count : 0.0;
    if (!(side > 0.0) || !(side < HUGE_VAL))
        side = HUGE_VAL;
    else {
        if ((max_x - min_x) / side > HASH_SPAN)
            side = (max_x - min_x) / HASH_SPAN;
        if ((max_y - min_y) / side > HASH_SPAN)
            side = (max_y - min_y) / HASH_SPAN;
    }
    while (nbuckets < 2 * m)
        nbuckets *= 2;

    /* Each bucket's list (compressed rows), in visiting order; the wide list. */
    starts = (int64_t *)calloc((size_t)nbuckets + 1, sizeof(int64_t));
    fill = (int64_t *)malloc((size_t)nbuckets * sizeof(int64_t));
    wide = (int64_t *)malloc((size_t)m * sizeof(int64_t));
    if (starts == NULL || fill == NULL || wide == NULL)
        goto fail;
    for (r = 0; r < m; r++) {
        fast_box_t *box = &boxes[r];
        box->wide = 1;
        if (box->regular) {
            box->x0 = fast_cell(box->lo_x - min_x, side);
            box->x1 = fast_cell(box->hi_x - min_x, side);
            box->y0 = fast_cell(box->lo_y - min_y, side);
            box->y1 = fast_cell(box->hi_y - min_y, side);
            if ((box->x1 - box->x0 + 1) * (box->y1 - box->y0 + 1) <= MAX_CELLS_PER_BOX) {
                box->wide = 0;
                for (cy = box->y0; cy <= box->y1; cy++)
                    for (cx = box->x0; cx <= box->x1; cx++)
                        starts[fast_bucket(cx, cy, nbuckets - 1) + 1]++;
            }
        }
        if (box->wide)
            wide[nwide++] = r;
    }
    for (k = 0; k < nbuckets; k++) {
        starts[k + 1] += starts[k];
        fill[k] = starts[k];
    }
    total = starts[nbuckets];
    entries = (int64_t *)malloc((size_t)(total > 0 ? total : 1) * sizeof(int64_t));
    if (entries == NULL)
        goto fail;
    for (r = 0; r < m; r++) {
        const fast_box_t *box = &boxes[r];
        if (box->wide)
            continue;
        for (cy = box->y0; cy <= box->y1; cy++)
            for (cx = box->x0; cx <= box->x1; cx++)
                entries[fill[fast_bucket(cx, cy, nbuckets - 1)]++] = r;
    }

    for (r = 0; r < m; r++)
        seen[r] = -1;
    for (r = 0; r < m; r++) {
        const double *q = geo + PROBIOU_COLUMNS * r;
        const fast_box_t *box = &boxes[r];
        int suppressed = 0;
        if (box->wide) { /* every earlier box */
            for (k = 0; k < r && !suppressed; k++)
                suppressed = fast_overlaps(geo + PROBIOU_COLUMNS * k, q, thr, cut,
                                           boxes[k].regular && box->regular ? t3_regular
                                                                            : t3_any);
        } else {
            for (k = 0; k < nwide && wide[k] < r && !suppressed; k++)
                suppressed = fast_overlaps(geo + PROBIOU_COLUMNS * wide[k], q, thr, cut,
                                           boxes[wide[k]].regular ? t3_regular : t3_any);
            for (cy = box->y0; cy <= box->y1 && !suppressed; cy++) {
                for (cx = box->x0; cx <= box->x1 && !suppressed; cx++) {
                    const int64_t bucket = fast_bucket(cx, cy, nbuckets - 1);
                    for (e = starts[bucket]; e < starts[bucket + 1]; e++) {
                        const int64_t other = entries[e];
                        if (other >= r)
                            break;
                        if (seen[other] == r)
                            continue;
                        seen[other] = r;
                        if (fast_overlaps(geo + PROBIOU_COLUMNS * other, q, thr, cut,
                                          t3_regular)) {
                            suppressed = 1;
                            break;
                        }
                    }
                }
            }
        }
        if (suppressed)
            continue;
        keep_out[nkept++] = cand[r].index;
        if (nkept == max_output)
            break;
    }
    free(starts);
    free(fill);
    free(entries);
    free(wide);
    return nkept;

fail:
    free(starts);
    free(fill);
    free(entries);
    free(wide);
    return -1;
}

int64_t accel_fast_nms_rotated(const double *geometry, const double *scores, int64_t n,
                               double iou_threshold, double score_threshold,
                               int64_t max_output, int64_t *keep_out)
{
    item_t *order = NULL, *tmp = NULL;
    double *cand_geo = NULL;
    fast_box_t *boxes = NULL;
    int64_t *seen = NULL;
    int64_t ncand = 0, i, result = -1;

    if (n <= 0 || max_output <= 0)
        return 0;
    if (!CHECK_SIZE(n, item_t) || !CHECK_SIZE(n, fast_box_t) || n > INT64_MAX / 6 ||
        !CHECK_SIZE(PROBIOU_COLUMNS * n, double))
        return -1;
    order = (item_t *)malloc((size_t)n * sizeof(item_t));
    if (order == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        if (scores[i] > score_threshold) {
            order[ncand].key = score_key(scores[i]);
            order[ncand].index = i;
            ncand++;
        }
    }
    if (ncand == 0) {
        result = 0;
        goto done;
    }
    tmp = (item_t *)malloc((size_t)ncand * sizeof(item_t));
    cand_geo = (double *)malloc((size_t)(ncand * PROBIOU_COLUMNS) * sizeof(double));
    boxes = (fast_box_t *)malloc((size_t)ncand * sizeof(fast_box_t));
    seen = (int64_t *)malloc((size_t)ncand * sizeof(int64_t));
    if (tmp == NULL || cand_geo == NULL || boxes == NULL || seen == NULL)
        goto done;
    radix_sort(order, tmp, (size_t)ncand);
    for (i = 0; i < ncand; i++)
        memcpy(cand_geo + PROBIOU_COLUMNS * i, geometry + PROBIOU_COLUMNS * order[i].index,
               PROBIOU_COLUMNS * sizeof(double));
    result = fast_probiou(cand_geo, order, ncand, iou_threshold, max_output, boxes, seen,
                          keep_out);

done:
    free(order);
    free(tmp);
    free(cand_geo);
    free(boxes);
    free(seen);
    return result;
}

/* ---------------------------------------------------------------- entry point */

int64_t accel_nms_rotated(const double *geometry, const double *scores,
                          const int64_t *classes, int64_t n, int kind, double iou_threshold,
                          double score_threshold, int64_t max_output, int64_t *keep_out)
{
    const int64_t cols = kind == 0 ? POLYGON_COLUMNS : PROBIOU_COLUMNS;
    item_t *order = NULL, *tmp = NULL;
    double *cand_geo = NULL, *kept_geo = NULL;
    int64_t *by_score = NULL;
    unsigned char *is_kept = NULL;
    work_t work = {NULL, 0, NULL, NULL};
    int64_t ncand = 0, max_keep, total = 0, start, end, i, count;
    int64_t result = -1;

    if (kind != 0 && kind != 1)
        return -2;
    if (n <= 0 || max_output <= 0)
        return 0;
    if (!CHECK_SIZE(n, item_t) || !CHECK_SIZE(n, kept_t) || n > INT64_MAX / cols ||
        !CHECK_SIZE(cols * n, double))
        return -1;

    /* The candidates: score > score_threshold, by decreasing score, ties by increasing
       index (listed by increasing index, then a stable sort by score). */
    order = (item_t *)malloc((size_t)n * sizeof(item_t));
    if (order == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        if (scores[i] > score_threshold) {
            order[ncand].key = score_key(scores[i]);
            order[ncand].index = i;
            ncand++;
        }
    }
    if (ncand == 0) {
        result = 0;
        goto done;
    }
    tmp = (item_t *)malloc((size_t)ncand * sizeof(item_t));
    if (tmp == NULL)
        goto done;
    radix_sort(order, tmp, (size_t)ncand);
    if (classes != NULL) {
        /* A stable sort by class groups the classes, each still in candidate order. */
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
    /* The candidates' rows in visiting order: the greedy loops read memory in sequence. */
    cand_geo = (double *)malloc((size_t)(ncand * cols) * sizeof(double));
    if (cand_geo == NULL)
        goto done;
    for (i = 0; i < ncand; i++)
        memcpy(cand_geo + cols * i, geometry + cols * order[i].index,
               (size_t)cols * sizeof(double));

    max_keep = max_output < ncand ? max_output : ncand;
    if (kind == 0) {
        work.kept = (kept_t *)malloc((size_t)max_keep * sizeof(kept_t));
        work.wide = (int64_t *)malloc((size_t)max_keep * sizeof(int64_t));
        if (work.kept == NULL || work.wide == NULL)
            goto done;
    } else {
        kept_geo = (double *)malloc((size_t)(max_keep * cols) * sizeof(double));
        if (kept_geo == NULL)
            goto done;
    }

    /* One run per class (a single run without classes). Each class keeps at most
       max_output boxes, all that the merged top max_output can use. */
    for (start = 0; start < ncand; start = end) {
        end = start + 1;
        if (classes == NULL)
            end = ncand;
        else
            while (end < ncand && order[end].key == order[start].key)
                end++;
        if (kind == 0)
            count = greedy_polygon(&work, cand_geo + cols * start, order + start, end - start,
                                   iou_threshold, max_output, keep_out + total);
        else
            count = greedy_probiou(cand_geo + cols * start, order + start, end - start,
                                   iou_threshold, max_output, kept_geo, keep_out + total);
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
    free(order);
    free(tmp);
    free(cand_geo);
    free(kept_geo);
    free(by_score);
    free(is_kept);
    return result;
}
