/* accel C kernels: greedy NMS (plain and class-aware) and Soft-NMS.

   A line-by-line port of the pure-Python reference, accel/_backends/_python.py: the same
   candidate order, the same float64 IoU operations in the same order, the same greedy and
   Soft-NMS loops, the same uniform grid (which only prunes pairs that cannot overlap, so
   it affects speed and never the result). Plain C99, no Python API: the functions run
   without the GIL. Build with -ffp-contract=off (setup.py does) so that no multiply-add
   is fused into an FMA, which would round differently from Python. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accel.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define GRID_MAX 64
#define MAX_CELLS_PER_BOX 16
#define SORT_RUN 32

/* ---------------------------------------------------------------- candidate order */

typedef struct {
    double score;
    int64_t index;
} ranked_t;

/* Decreasing score, then increasing index: a total order (scores are never NaN). */
static int comes_before(const ranked_t *a, const ranked_t *b)
{
    return a->score > b->score || (a->score == b->score && a->index < b->index);
}

/* Bottom-up merge sort (insertion-sorted runs of SORT_RUN first); tmp holds n items. */
static void sort_ranked(ranked_t *a, ranked_t *tmp, size_t n)
{
    size_t lo, width;
    ranked_t *src = a, *dst = tmp, *swap;

    for (lo = 0; lo < n; lo += SORT_RUN) {
        size_t hi = lo + SORT_RUN < n ? lo + SORT_RUN : n, i;
        for (i = lo + 1; i < hi; i++) {
            ranked_t item = a[i];
            size_t j = i;
            while (j > lo && comes_before(&item, &a[j - 1])) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = item;
        }
    }
    for (width = SORT_RUN; width < n; width *= 2) {
        for (lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = mid + width < n ? mid + width : n;
            size_t i = lo, j = mid, k = lo;
            if (mid == hi || !comes_before(&src[mid], &src[mid - 1])) {
                memcpy(dst + lo, src + lo, (hi - lo) * sizeof(ranked_t)); /* in order */
                continue;
            }
            while (i < mid && j < hi)
                dst[k++] = comes_before(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        swap = src;
        src = dst;
        dst = swap;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(ranked_t));
}

/* ---------------------------------------------------------------- uniform grid */

typedef struct {
    int nx, ny;
    double min_x, min_y, fx, fy;
} grid_t;

/* Cells along one axis and the coordinate-to-cell factor (reference: _axis_cells).
   Every comparison is made before any conversion to int, so NaN or infinite values
   (from extreme coordinates) only ever give a single cell. */
static int axis_cells(double lo, double hi, double total_width, int64_t count, double *factor)
{
    double span = hi - lo, cells, f;
    int n;

    *factor = 0.0;
    if (count == 0 || !(total_width > 0.0) || !(span > 0.0) || span == HUGE_VAL)
        return 1;
    cells = span / (2.0 * total_width / (double)count);
    if (!(cells >= 2.0))
        return 1;
    n = cells >= (double)GRID_MAX ? GRID_MAX : (int)cells; /* also when cells is inf */
    f = (double)n / span;
    if (!(f < HUGE_VAL))
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

typedef struct {
    double x1, y1, x2, y2, area;
    int64_t cls;
    int cx0, cy0; /* first cell of the box's range, to visit each pair once */
} kept_t;

typedef struct {
    int64_t next; /* next entry of the same cell, -1 at the end */
    int64_t kept; /* position of the kept box in the kept list */
} entry_t;

/* True when IoU(kept a, candidate b) > thr, operation for operation as the reference. */
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

#define CHECK_SIZE(count, type) ((uint64_t)(count) <= (uint64_t)(SIZE_MAX / sizeof(type)))

int64_t accel_nms(const double *boxes, const double *scores, const int64_t *classes,
                  int64_t n, double iou_threshold, double score_threshold,
                  int64_t max_output, int64_t *keep_out)
{
    ranked_t *order = NULL, *tmp = NULL;
    kept_t *kept = NULL;
    int64_t *wide = NULL, *head = NULL, *tail = NULL;
    entry_t *entries = NULL;
    int64_t ncand = 0, max_keep, nkept = 0, nwide = 0, nentries = 0, cap = 0, bound;
    int64_t i, r, cells;
    grid_t g;
    int64_t result = -1;

    if (n <= 0 || max_output <= 0)
        return 0;
    if (!CHECK_SIZE(n, ranked_t) || !CHECK_SIZE(n, kept_t))
        return -1;

    /* Candidates: score > score_threshold, by decreasing score, ties by index. */
    order = (ranked_t *)malloc((size_t)n * sizeof(ranked_t));
    if (order == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        if (scores[i] > score_threshold) {
            order[ncand].score = scores[i];
            order[ncand].index = i;
            ncand++;
        }
    }
    if (ncand == 0) {
        result = 0;
        goto done;
    }
    tmp = (ranked_t *)malloc((size_t)ncand * sizeof(ranked_t));
    if (tmp == NULL)
        goto done;
    sort_ranked(order, tmp, (size_t)ncand);
    free(tmp);
    tmp = NULL;

    /* Grid over the candidates' extent (reference: _Grid.__init__). */
    {
        double min_x, min_y, max_x, max_y, width = 0.0, height = 0.0;
        const double *b = boxes + 4 * order[0].index;
        min_x = b[0];
        min_y = b[1];
        max_x = b[2];
        max_y = b[3];
        for (r = 0; r < ncand; r++) {
            b = boxes + 4 * order[r].index;
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
    cells = (int64_t)g.nx * g.ny;

    max_keep = max_output < ncand ? max_output : ncand;
    bound = max_keep * MAX_CELLS_PER_BOX; /* entries never exceed this */
    kept = (kept_t *)malloc((size_t)max_keep * sizeof(kept_t));
    wide = (int64_t *)malloc((size_t)max_keep * sizeof(int64_t));
    head = (int64_t *)malloc((size_t)cells * sizeof(int64_t));
    tail = (int64_t *)malloc((size_t)cells * sizeof(int64_t));
    if (kept == NULL || wide == NULL || head == NULL || tail == NULL)
        goto done;
    for (i = 0; i < cells; i++)
        head[i] = tail[i] = -1;

    for (r = 0; r < ncand; r++) {
        const int64_t idx = order[r].index;
        const double *b = boxes + 4 * idx;
        const double bx1 = b[0], by1 = b[1], bx2 = b[2], by2 = b[3];
        const double barea = (bx2 - bx1) * (by2 - by1);
        const int64_t cls = classes != NULL ? classes[idx] : 0;
        const range_t cr = cell_range(&g, bx1, by1, bx2, by2);
        const int is_wide = range_cells(cr) > MAX_CELLS_PER_BOX;
        int suppressed = 0;
        int64_t k, w;
        int cx, cy;

        if (is_wide) { /* covers too many cells: check every kept box */
            for (k = 0; k < nkept; k++) {
                if (classes != NULL && kept[k].cls != cls)
                    continue;
                if (overlaps(&kept[k], bx1, by1, bx2, by2, barea, iou_threshold)) {
                    suppressed = 1;
                    break;
                }
            }
        } else {
            for (w = 0; w < nwide; w++) {
                k = wide[w];
                if (classes != NULL && kept[k].cls != cls)
                    continue;
                if (overlaps(&kept[k], bx1, by1, bx2, by2, barea, iou_threshold)) {
                    suppressed = 1;
                    break;
                }
            }
            for (cy = cr.cy0; cy <= cr.cy1 && !suppressed; cy++) {
                for (cx = cr.cx0; cx <= cr.cx1 && !suppressed; cx++) {
                    int64_t e;
                    for (e = head[(int64_t)cy * g.nx + cx]; e >= 0; e = entries[e].next) {
                        const kept_t *a = &kept[entries[e].kept];
                        /* A kept box sharing several cells with the candidate is checked
                           only in the first shared cell. */
                        if (cx != (a->cx0 > cr.cx0 ? a->cx0 : cr.cx0) ||
                            cy != (a->cy0 > cr.cy0 ? a->cy0 : cr.cy0))
                            continue;
                        if (classes != NULL && a->cls != cls)
                            continue;
                        if (overlaps(a, bx1, by1, bx2, by2, barea, iou_threshold)) {
                            suppressed = 1;
                            break;
                        }
                    }
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
        kept[nkept].cls = cls;
        kept[nkept].cx0 = cr.cx0;
        kept[nkept].cy0 = cr.cy0;
        nkept++;
        if (nkept == max_output)
            break;
        if (is_wide) {
            wide[nwide++] = nkept - 1;
            continue;
        }
        for (cy = cr.cy0; cy <= cr.cy1; cy++) {
            for (cx = cr.cx0; cx <= cr.cx1; cx++) {
                const int64_t cell = (int64_t)cy * g.nx + cx;
                if (nentries == cap) {
                    int64_t new_cap = cap == 0 ? 4096 : 2 * cap;
                    entry_t *grown;
                    if (new_cap > bound)
                        new_cap = bound;
                    if (new_cap <= cap || !CHECK_SIZE(new_cap, entry_t))
                        goto done; /* cannot happen: entries stay within bound */
                    grown = (entry_t *)realloc(entries, (size_t)new_cap * sizeof(entry_t));
                    if (grown == NULL)
                        goto done;
                    entries = grown;
                    cap = new_cap;
                }
                entries[nentries].next = -1;
                entries[nentries].kept = nkept - 1;
                if (tail[cell] < 0)
                    head[cell] = nentries;
                else
                    entries[tail[cell]].next = nentries;
                tail[cell] = nentries;
                nentries++;
            }
        }
    }
    result = nkept;

done:
    free(order);
    free(tmp);
    free(kept);
    free(wide);
    free(head);
    free(tail);
    free(entries);
    return result;
}

/* ---------------------------------------------------------------- Soft-NMS */

typedef struct {
    double x1, y1, x2, y2, area, score;
    int64_t index;
} live_t;

/* IoU(selected a, other b), operation for operation as the reference's iou(). */
static double iou(const live_t *a, const live_t *b)
{
    double iw, ih, inter, uni;
    iw = (b->x2 < a->x2 ? b->x2 : a->x2) - (b->x1 > a->x1 ? b->x1 : a->x1);
    if (iw <= 0.0)
        return 0.0;
    ih = (b->y2 < a->y2 ? b->y2 : a->y2) - (b->y1 > a->y1 ? b->y1 : a->y1);
    if (ih <= 0.0)
        return 0.0;
    inter = iw * ih;
    uni = a->area + b->area - inter;
    return uni > 0.0 ? inter / uni : 0.0;
}

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
            double overlap;
            if (p == best)
                continue;
            overlap = iou(&sel, b);
            if (gaussian) {
                if (overlap > 0.0)
                    b->score = b->score * exp(-(overlap * overlap) / sigma);
            } else if (overlap > iou_threshold) {
                b->score = b->score * (1.0 - overlap);
            }
            if (b->score >= score_threshold) {
                if (w != p)
                    alive[w] = *b;
                if (w > 0 && alive[w].score > alive[next_best].score)
                    next_best = w;
                w++;
            }
        }
        m = w;
        best = next_best;
    }
    free(alive);
    return count;
}
