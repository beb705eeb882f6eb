/* accel decoding kernels: the class scan of a detector's output (decode_scan) and the
   un-letterboxing of the kept boxes (scale_boxes). Plain C99, no Python; declarations and
   contract in decode.h, reference accel/_backends/python/decode.py.

   decode_scan takes one of two paths; both give the reference's answer for any strides.

   Anchor-major (any layout, and always with objectness): CHUNK anchors at a time, the
   objectness of the chunk first so that the anchors it rejects (most of them) cost one
   load, prefetching the class scores of the candidates it finds; then each candidate's
   class scores, read with channel_stride (contiguous ones by 8 running maxima, then the
   first class equal to their maximum: best_class). Objectness products are T * T in T:
   with FLT_EVAL_METHOD 0 and -ffp-contract=off (setup.py) that is the reference's
   rounded float32 product.

   Class-major (no objectness, anchor_stride 1: the YOLOv8 (4 + nc, anchors) layout, where
   each class is a contiguous row): anchors are processed in blocks of BLOCK, whose running
   maxima and group indices stay in L1 while the class rows stream past once, in loops
   over contiguous data that gcc and clang auto-vectorise (SSE2, NEON). Blending the class
   index in after every row (arg = v > best ? c : arg) costs several vector operations per
   element against one for the maximum alone, about twice the time of the whole scan on
   the 80 x 8400 YOLOv8 output. So rows are folded GROUP at a time: the group's maximum,
   then one blend of it into best, recording the group's first class. For finite data
   this loses nothing:
     - the reference's class is the first class whose score == the anchor's maximum M
       (Python's max() keeps the first of equal maxima, list.index() finds it);
     - the first group whose maximum exceeds the running best strictly is the first group
       holding a score == M, since the running best never decreases;
   so a kept anchor finds its class by searching at most GROUP rows from the recorded one,
   in cache lines the block has just read, and its score is that class's value (it
   compares equal to best but may hold the other sign of zero). Non-finite data only has
   to end without a crash: the search stays inside the group.

   threshold is compared in double, as the reference compares its Python float; the
   boundary makes it exactly representable in T, where the decisions would be the same.

   check_finite (decode.h) costs no second pass over the data. The class-major fold also
   adds the rows it reads into a per-anchor sum (one add per score, in the same loops): a
   sum is NaN or infinite when a term is, which a maximum by selects is not (it skips a
   NaN). A block whose sums are not all finite is searched exactly, anchor by anchor, for
   the first non-finite score (a sum of finite values can overflow: then the search finds
   nothing and the scan goes on). The anchor-major scan tests x - x == 0 (false for NaN
   and infinities) on each objectness and on the class scores it reads, as branch-free
   ANDs; contiguous class scores are summed in the loop that finds the best class, and
   tested exactly only when the sum is not finite. */
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "restrict.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* 1024 anchors keep best and arg at 8 KB (float32) or 16 KB (float64) on the stack,
   within L1 on x86-64 and the Cortex-A72; larger blocks measured no faster. */
#define BLOCK 1024
/* Rows per group. Groups are folded two per pass (fold_groups), so best and arg are
   loaded and stored once per 8 rows, while a kept anchor searches at most 4 rows: as fast
   as groups of 8 on sparse detections, and faster when most anchors are kept (a low
   threshold, where the searches dominate). */
#define GROUP 4
#if GROUP != 4
#error "head_rows folds at most 4 rows"
#endif
/* Anchors tested together by the candidate loop before it looks at each one. */
#define SKIP 16
/* The anchor-major scan with objectness takes CHUNK anchors at a time (the candidates of a
   chunk on the stack; decode_yolov5 at 640 px has about 770 among 25200 anchors). */
#define CHUNK 512
/* ... and prefetches the objectness this many anchors ahead: one value per row of 5 + nc,
   a stride the hardware prefetcher follows only one step ahead (13% off that scan). */
#define OBJ_AHEAD 32

/* The class-major folds are compiled twice by GCC on x86-64 glibc, for AVX2 and for the
   baseline (SSE2), and the loader picks one per machine (an ifunc): the build stays
   portable (no -march=native) and the folds use 8 lanes where the CPU has them: the
   decode_yolov8 scan at 640 px took 92 us instead of 110 us here. The same IEEE
   operations in wider registers (no FMA: -ffp-contract=off), so the same results. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define ACCEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ACCEL_CLONES
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ACCEL_PREFETCH(p) __builtin_prefetch(p)
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <xmmintrin.h>
#define ACCEL_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#define ACCEL_PREFETCH(p) ((void)0)
#endif

static double unletterboxed(double value, double pad, double gain, int clip, double limit)
{
    value = (value - pad) / gain;
    if (clip) {
        if (value < 0.0)
            value = 0.0;
        else if (value > limit)
            value = limit;
    }
    return value;
}

/* The kernels of one element type T. ARG_T holds a class index in the class-major scan:
   the width of T, so that the blend of best and arg vectorises lane for lane; classes
   beyond ARG_MAX (never in practice) take the anchor-major path. */
#define DEFINE_DECODE_KERNELS(SFX, T, ARG_T, ARG_MAX)                                        \
                                                                                             \
typedef struct {                                                                             \
    int64_t capacity, count;                                                                 \
    int64_t first_bad;           /* the anchor where a non-finite value was read, or -1 */   \
    int64_t *anchors, *classes;                                                              \
    T *scores;                                                                               \
} rows_##SFX;                                                                                \
                                                                                             \
/* Lowest anchor of anchors first .. first + n - 1 (class c of anchor a at                  \
   scores[a + c * channel_stride]) with a non-finite class score, or -1: the exact test     \
   behind a block whose sum was not finite (a sum of finite values can overflow). */        \
static int64_t first_non_finite_##SFX(const T *scores, int64_t first, int64_t n,            \
                                      int64_t channel_stride, int64_t nc)                    \
{                                                                                            \
    int64_t i, c;                                                                            \
    for (i = first; i < first + n; i++)                                                      \
        for (c = 0; c < nc; c++) {                                                           \
            T v = scores[i + c * channel_stride];                                            \
            if (!(v - v == 0))                                                               \
                return i;                                                                    \
        }                                                                                    \
    return -1;                                                                               \
}                                                                                            \
                                                                                             \
/* Rows past capacity are counted, not written: the caller retries with that count. */      \
static void put_##SFX(rows_##SFX *out, int64_t anchor, int64_t cls, T score)                 \
{                                                                                            \
    int64_t k = out->count++;                                                                \
    if (k < out->capacity) {                                                                 \
        out->anchors[k] = anchor;                                                            \
        out->classes[k] = cls;                                                               \
        out->scores[k] = score;                                                              \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* Prefetch the nc values scores[c * channel_stride], one per cache line of 64 bytes. */     \
static void prefetch_scores_##SFX(const T *scores, int64_t nc, int64_t channel_stride)       \
{                                                                                            \
    int64_t step = channel_stride * (int64_t)sizeof(T) >= 64                                 \
                   ? 1 : 64 / (channel_stride * (int64_t)sizeof(T)), c;                      \
    for (c = 0; c < nc; c += step)                                                           \
        ACCEL_PREFETCH(scores + c * channel_stride);                                         \
    ACCEL_PREFETCH(scores + (nc - 1) * channel_stride);                                      \
}                                                                                            \
                                                                                             \
/* Whether the nc values scores[c * channel_stride] are all finite: x - x is 0 for finite    \
   x, NaN for NaN and infinities; an AND of compares without a branch, which vectorises. */  \
static int all_finite_##SFX(const T *scores, int64_t nc, int64_t channel_stride)             \
{                                                                                            \
    int64_t c;                                                                               \
    int finite = 1;                                                                          \
    for (c = 0; c < nc; c++) {                                                               \
        T v = scores[c * channel_stride];                                                    \
        finite &= v - v == 0;                                                                \
    }                                                                                        \
    return finite;                                                                           \
}                                                                                            \
                                                                                             \
/* The first class holding the largest of scores[c * channel_stride] * obj (rounded to T),   \
   into *best; with check_finite, -1 when a score is not finite. Contiguous scores: 8        \
   running maxima by selects, which vectorise, then the first class whose product equals     \
   their maximum M (no earlier product equals M, or it would be the first; its own value,    \
   so the sign of a zero is the reference's; bounded by nc, so non-finite data, unchecked,   \
   ends without a crash); the same loop sums the scores (not the products, which can         \
   overflow), and only a sum that is not finite takes the exact test. */                     \
static int64_t best_class_##SFX(const T *scores, int64_t nc, int64_t channel_stride, T obj,  \
                                int check_finite, T *best)                                   \
{                                                                                            \
    int64_t c, j, arg = 0;                                                                   \
    T m[8], t[8], top, total;                                                                \
    if (channel_stride == 1 && nc >= 16) {                                                   \
        for (j = 0; j < 8; j++) {                                                            \
            m[j] = scores[j] * obj;                                                          \
            t[j] = scores[j];                                                                \
        }                                                                                    \
        for (c = 8; c + 8 <= nc; c += 8)                                                     \
            for (j = 0; j < 8; j++) {                                                        \
                T v = scores[c + j] * obj;                                                   \
                m[j] = v > m[j] ? v : m[j];                                                  \
                t[j] += scores[c + j];                                                       \
            }                                                                                \
        for (; c < nc; c++) {                                                                \
            T v = scores[c] * obj;                                                           \
            m[0] = v > m[0] ? v : m[0];                                                      \
            t[0] += scores[c];                                                               \
        }                                                                                    \
        top = m[0];                                                                          \
        total = t[0];                                                                        \
        for (j = 1; j < 8; j++) {                                                            \
            top = m[j] > top ? m[j] : top;                                                   \
            total += t[j];                                                                   \
        }                                                                                    \
        if (check_finite && !(total - total == 0) && !all_finite_##SFX(scores, nc, 1))       \
            return -1;                                                                       \
        for (c = 0; c < nc - 1 && !((T)(scores[c] * obj) == top); c++)                       \
            ;                                                                                \
        *best = scores[c] * obj;                                                             \
        return c;                                                                            \
    }                                                                                        \
    if (check_finite && !all_finite_##SFX(scores, nc, channel_stride))                       \
        return -1;                                                                           \
    top = scores[0] * obj;                                                                   \
    for (c = 1; c < nc; c++) {                                                               \
        T v = scores[c * channel_stride] * obj;                                              \
        if (v > top) {                                                                       \
            top = v;                                                                         \
            arg = c;                                                                         \
        }                                                                                    \
    }                                                                                        \
    *best = top;                                                                             \
    return arg;                                                                              \
}                                                                                            \
                                                                                             \
/* obj is 1 without objectness: x * 1 == x bit for bit (signed zeros too), one code path.    \
   With objectness, CHUNK anchors at a time: first their objectness alone (a strided read    \
   the hardware prefetcher follows), collecting the candidates and prefetching their class   \
   scores, then the candidates. The class scores of a candidate lie between the objectness   \
   values read, so nothing else brings them into cache: read in the same pass, each          \
   candidate's row stalled the scan on a cache miss. The objectness values are tested by     \
   an AND without a branch; a chunk holding a bad one is searched for it, and only the       \
   candidates before it are decoded (and tested). */                                         \
static void scan_anchor_major_##SFX(const T *data, int64_t n_anchors, int64_t anchor_stride, \
                                    int64_t channel_stride, int64_t cls_offset, int64_t nc,  \
                                    int64_t obj_offset, double threshold, int multi_label,   \
                                    int check_finite, rows_##SFX *out)                       \
{                                                                                            \
    int64_t candidates[CHUNK];                                                               \
    int64_t start, a, c, i, k;                                                               \
    const T *objectness = obj_offset >= 0 ? data + obj_offset * channel_stride : data;       \
    for (start = 0; start < n_anchors; start += CHUNK) {                                     \
        int64_t end = n_anchors - start < CHUNK ? n_anchors : start + CHUNK, bad_obj = -1;   \
        k = 0;                                                                               \
        if (obj_offset >= 0) {                                                               \
            int finite = 1;                                                                  \
            for (a = start; a < end; a++) {                                                  \
                T obj = objectness[a * anchor_stride];                                       \
                if (a + OBJ_AHEAD < n_anchors)                                               \
                    ACCEL_PREFETCH(objectness + (a + OBJ_AHEAD) * anchor_stride);            \
                finite &= obj - obj == 0;                                                    \
                if ((double)obj > threshold) {                                               \
                    candidates[k++] = a;                                                     \
                    prefetch_scores_##SFX(data + a * anchor_stride                           \
                                          + cls_offset * channel_stride, nc,                 \
                                          channel_stride);                                   \
                }                                                                            \
            }                                                                                \
            if (check_finite && !finite) {                                                   \
                for (bad_obj = start; bad_obj < end; bad_obj++) {                            \
                    T obj = objectness[bad_obj * anchor_stride];                             \
                    if (!(obj - obj == 0))                                                   \
                        break;                                                               \
                }                                                                            \
                while (k > 0 && candidates[k - 1] >= bad_obj)  /* +inf passes */             \
                    k--;                                                                     \
            }                                                                                \
        } else {                                                                             \
            for (a = start; a < end; a++)                                                    \
                candidates[k++] = a;                                                         \
        }                                                                                    \
        for (i = 0; i < k; i++) {                                                            \
            const T *anchor = data + candidates[i] * anchor_stride;                          \
            const T *scores = anchor + cls_offset * channel_stride;                          \
            T obj = obj_offset >= 0 ? anchor[obj_offset * channel_stride] : 1;               \
            a = candidates[i];                                                               \
            if (multi_label) {                                                               \
                /* The class scores read are tested, not their products (a product of        \
                   finite values can overflow). */                                           \
                if (check_finite && !all_finite_##SFX(scores, nc, channel_stride)) {         \
                    out->first_bad = a;                                                      \
                    return;                                                                  \
                }                                                                            \
                for (c = 0; c < nc; c++) {                                                   \
                    T s = scores[c * channel_stride] * obj;                                  \
                    if ((double)s > threshold)                                               \
                        put_##SFX(out, a, c, s);                                             \
                }                                                                            \
            } else {                                                                         \
                T best;                                                                      \
                int64_t arg = best_class_##SFX(scores, nc, channel_stride, obj,              \
                                               check_finite, &best);                         \
                if (arg < 0) {                                                               \
                    out->first_bad = a;                                                      \
                    return;                                                                  \
                }                                                                            \
                if ((double)best > threshold)                                                \
                    put_##SFX(out, a, arg, best);                                            \
            }                                                                                \
        }                                                                                    \
        if (bad_obj >= 0) {                                                                  \
            out->first_bad = bad_obj;                                                        \
            return;                                                                          \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* best, arg and sum of the first `head` rows (1 <= head <= GROUP) in one pass: the same     \
   selects in the same row order as folding them one by one. */                             \
ACCEL_CLONES                                                                                 \
static void head_rows_##SFX(T *ACCEL_RESTRICT best, ARG_T *ACCEL_RESTRICT arg,               \
                            T *ACCEL_RESTRICT sum, const T *ACCEL_RESTRICT row,              \
                            int64_t channel_stride, int64_t n, int64_t head)                 \
{                                                                                            \
    const T *r1 = row + channel_stride, *r2 = r1 + channel_stride, *r3 = r2 + channel_stride;\
    int64_t i;                                                                               \
    for (i = 0; i < n; i++) {                                                                \
        T m = row[i], s = row[i], v;                                                         \
        if (head > 1) {                                                                      \
            v = r1[i];                                                                       \
            m = v > m ? v : m;                                                               \
            s += v;                                                                          \
        }                                                                                    \
        if (head > 2) {                                                                      \
            v = r2[i];                                                                       \
            m = v > m ? v : m;                                                               \
            s += v;                                                                          \
        }                                                                                    \
        if (head > 3) {                                                                      \
            v = r3[i];                                                                       \
            m = v > m ? v : m;                                                               \
            s += v;                                                                          \
        }                                                                                    \
        best[i] = m;                                                                         \
        arg[i] = 0;                                                                          \
        sum[i] = s;                                                                          \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* pass[i] = whether best[i] passes (double)best[i] > threshold, decided in T: b > low, or  \
   b >= low when low = (T)threshold rounded up (up). Exact: threshold lies in [low, next    \
   up from low) or (next down from low, low], so no value of T falls between the two.     \
   Lane for lane (pass has the width of T), so it vectorises: tested one anchor at a time, \
   with the double conversion, the candidate loop took a sixth of the YOLOv8 scan. */      \
ACCEL_CLONES                                                                                 \
static void passing_##SFX(const T *ACCEL_RESTRICT best, ARG_T *ACCEL_RESTRICT pass,         \
                          int64_t n, T low, int up)                                          \
{                                                                                            \
    int64_t i;                                                                               \
    if (up)                                                                                  \
        for (i = 0; i < n; i++)                                                              \
            pass[i] = best[i] >= low;                                                        \
    else                                                                                     \
        for (i = 0; i < n; i++)                                                              \
            pass[i] = best[i] > low;                                                         \
}                                                                                            \
                                                                                             \
/* Whether any of pass[0 .. SKIP - 1] is set: an OR of integers, which vectorises. */      \
static int any_passing_##SFX(const ARG_T *ACCEL_RESTRICT pass)                               \
{                                                                                            \
    int i;                                                                                   \
    ARG_T any = 0;                                                                           \
    for (i = 0; i < SKIP; i++)                                                               \
        any |= pass[i];                                                                      \
    return any != 0;                                                                         \
}                                                                                            \
                                                                                             \
/* Folds rows first .. first + 2 * GROUP - 1, two groups in one pass over best and arg. gcc  \
   -O3 fuses two passes by itself (unroll-and-jam), but not under -fwrapv, which CPython's   \
   CFLAGS add to every extension: written out, the scan is ~15% faster there. arg is         \
   computed before best is overwritten: in the other order gcc 12 turns the two selects      \
   into a branch and gives up vectorising. sum[i] adds up the rows, as a finiteness test:    \
   a sum is NaN or infinite when one of its terms is (a maximum by selects is not, it        \
   skips a NaN), and only 8 adds per 8 scores. */                                            \
ACCEL_CLONES                                                                                 \
static void fold_groups_##SFX(T *ACCEL_RESTRICT best, ARG_T *ACCEL_RESTRICT arg,             \
                              T *ACCEL_RESTRICT sum, const T *ACCEL_RESTRICT row,            \
                              int64_t channel_stride, int64_t n, ARG_T first)                \
{                                                                                            \
    const T *r1 = row + channel_stride, *r2 = r1 + channel_stride, *r3 = r2 + channel_stride;\
    const T *r4 = r3 + channel_stride, *r5 = r4 + channel_stride, *r6 = r5 + channel_stride; \
    const T *r7 = r6 + channel_stride;                                                       \
    int64_t i;                                                                               \
    for (i = 0; i < n; i++) {                                                                \
        T m = row[i], m2 = r4[i], v, b = best[i], s = (row[i] + r1[i]) + (r2[i] + r3[i]);    \
        T s2 = (r4[i] + r5[i]) + (r6[i] + r7[i]);                                            \
        ARG_T a = arg[i];                                                                    \
        v = r1[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r2[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r3[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r5[i];                                                                           \
        m2 = v > m2 ? v : m2;                                                                \
        v = r6[i];                                                                           \
        m2 = v > m2 ? v : m2;                                                                \
        v = r7[i];                                                                           \
        m2 = v > m2 ? v : m2;                                                                \
        a = m > b ? first : a;                                                               \
        b = m > b ? m : b;                                                                   \
        a = m2 > b ? first + GROUP : a;                                                      \
        b = m2 > b ? m2 : b;                                                                 \
        best[i] = b;                                                                         \
        arg[i] = a;                                                                          \
        sum[i] += s + s2;                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
ACCEL_CLONES                                                                                 \
static void fold_group_##SFX(T *ACCEL_RESTRICT best, ARG_T *ACCEL_RESTRICT arg,              \
                             T *ACCEL_RESTRICT sum, const T *ACCEL_RESTRICT row,             \
                             int64_t channel_stride, int64_t n, ARG_T first)                 \
{                                                                                            \
    const T *r1 = row + channel_stride, *r2 = r1 + channel_stride, *r3 = r2 + channel_stride;\
    int64_t i;                                                                               \
    for (i = 0; i < n; i++) {                                                                \
        T m = row[i], v, b = best[i], s = (row[i] + r1[i]) + (r2[i] + r3[i]);                \
        ARG_T a = arg[i];                                                                    \
        v = r1[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r2[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r3[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        a = m > b ? first : a;                                                               \
        b = m > b ? m : b;                                                                   \
        best[i] = b;                                                                         \
        arg[i] = a;                                                                          \
        sum[i] += s;                                                                         \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* scores points at class 0 of anchor 0; class c of anchor a is scores[a + c * stride].      \
   With check_finite, a block whose sums are not all finite is searched exactly for its      \
   first anchor with a non-finite score; the scan stops at the first one found. */           \
static void scan_class_major_##SFX(const T *scores, int64_t n_anchors,                       \
                                   int64_t channel_stride, int64_t nc, double threshold,     \
                                   int multi_label, int check_finite, rows_##SFX *out)       \
{                                                                                            \
    T best[BLOCK];                                                                           \
    ARG_T arg[BLOCK];                                                                        \
    T sum[BLOCK];                                                                            \
    ARG_T pass[BLOCK];                                                                       \
    /* The first `head` rows form the first group, so the others split into GROUPs. */       \
    int64_t head = 1 + (nc - 1) % GROUP, start, i, c;                                        \
    T low = (T)threshold;                                                                    \
    int up = (double)low > threshold;                                                        \
    for (start = 0; start < n_anchors; start += BLOCK) {                                     \
        int64_t n = n_anchors - start < BLOCK ? n_anchors - start : BLOCK;                   \
        const T *block = scores + start;                                                     \
        int finite = 1;                                                                      \
        head_rows_##SFX(best, arg, sum, block, channel_stride, n, head);                     \
        for (c = head; c + 2 * GROUP <= nc; c += 2 * GROUP)                                  \
            fold_groups_##SFX(best, arg, sum, block + c * channel_stride, channel_stride, n, \
                              (ARG_T)c);                                                     \
        if (c < nc)                                                                          \
            fold_group_##SFX(best, arg, sum, block + c * channel_stride, channel_stride, n,  \
                             (ARG_T)c);                                                      \
        if (check_finite) {                                                                  \
            for (i = 0; i < n; i++)                                                          \
                finite &= sum[i] - sum[i] == 0;                                              \
            if (!finite) {                                                                   \
                out->first_bad = first_non_finite_##SFX(scores, start, n,                    \
                                                        channel_stride, nc);                 \
                if (out->first_bad >= 0)                                                     \
                    return;                                                                  \
            }                                                                                \
        }                                                                                    \
        passing_##SFX(best, pass, n, low, up);                                               \
        for (i = 0; i < n; i++) {                                                            \
            const T *column = block + i;                                                     \
            if (i % SKIP == 0 && i + SKIP <= n && !any_passing_##SFX(pass + i)) {             \
                i += SKIP - 1;                                                               \
                continue;                                                                    \
            }                                                                                \
            if (!pass[i])                                                                    \
                continue;                                                                    \
            if (multi_label) {                                                               \
                for (c = 0; c < nc; c++) {                                                   \
                    T s = column[c * channel_stride];                                        \
                    if ((double)s > threshold)                                               \
                        put_##SFX(out, start + i, c, s);                                     \
                }                                                                            \
            } else {                                                                         \
                int64_t last = nc - arg[i] > GROUP ? (int64_t)arg[i] + GROUP - 1 : nc - 1;   \
                for (c = arg[i]; c < last && !(column[c * channel_stride] == best[i]); c++)  \
                    ;                                                                        \
                put_##SFX(out, start + i, c, column[c * channel_stride]);                    \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
int64_t accel_decode_scan_##SFX(const T *data, int64_t n_anchors, int64_t anchor_stride,     \
                                int64_t channel_stride, int64_t cls_offset, int64_t nc,      \
                                int64_t obj_offset, double threshold, int multi_label,       \
                                int check_finite, int64_t capacity, int64_t *anchors_out,    \
                                int64_t *classes_out, T *scores_out, int64_t *first_bad)     \
{                                                                                            \
    rows_##SFX out;                                                                          \
    out.capacity = capacity;                                                                 \
    out.count = 0;                                                                           \
    out.first_bad = -1;                                                                      \
    out.anchors = anchors_out;                                                               \
    out.classes = classes_out;                                                               \
    out.scores = scores_out;                                                                 \
    if (obj_offset < 0 && anchor_stride == 1 && nc - 1 <= (ARG_MAX))                         \
        scan_class_major_##SFX(data + cls_offset * channel_stride, n_anchors,                \
                               channel_stride, nc, threshold, multi_label, check_finite,     \
                               &out);                                                        \
    else                                                                                     \
        scan_anchor_major_##SFX(data, n_anchors, anchor_stride, channel_stride, cls_offset,  \
                                nc, obj_offset, threshold, multi_label, check_finite, &out); \
    *first_bad = out.first_bad;                                                              \
    return out.count;                                                                        \
}                                                                                            \
                                                                                             \
void accel_scale_boxes_##SFX(const T *boxes, int64_t n, double gain_x, double gain_y,        \
                             double pad_x, double pad_y, int clip, double width,             \
                             double height, T *out)                                          \
{                                                                                            \
    int64_t i;                                                                               \
    for (i = 0; i < 4 * n; i += 4) {                                                         \
        out[i] = (T)unletterboxed(boxes[i], pad_x, gain_x, clip, width);                     \
        out[i + 1] = (T)unletterboxed(boxes[i + 1], pad_y, gain_y, clip, height);            \
        out[i + 2] = (T)unletterboxed(boxes[i + 2], pad_x, gain_x, clip, width);             \
        out[i + 3] = (T)unletterboxed(boxes[i + 3], pad_y, gain_y, clip, height);            \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* The corners of anchors[0 .. n - 1]; returns the first i whose four channels are not all \
   finite (x - x == 0 fails for NaN and infinities), or -1. */                              \
static int64_t corners_##SFX(const T *data, const int64_t *anchors, int64_t n,               \
                             int64_t anchor_stride, int64_t channel_stride, T *out)          \
{                                                                                            \
    int64_t i, bad = -1;                                                                     \
    for (i = 0; i < n; i++) {                                                                \
        const T *box = data + anchors[i] * anchor_stride;                                    \
        const T cx = box[0], cy = box[channel_stride];                                       \
        const T w = box[2 * channel_stride], h = box[3 * channel_stride];                    \
        const T half_w = w / 2, half_h = h / 2;                                              \
        out[4 * i] = cx - half_w;                                                            \
        out[4 * i + 1] = cy - half_h;                                                        \
        out[4 * i + 2] = cx + half_w;                                                        \
        out[4 * i + 3] = cy + half_h;                                                        \
        if (bad < 0 && !((cx - cx == 0) & (cy - cy == 0) & (w - w == 0) & (h - h == 0)))    \
            bad = i;                                                                         \
    }                                                                                        \
    return bad;                                                                              \
}                                                                                            \
                                                                                             \
void accel_decode_boxes_##SFX(const T *data, const int64_t *anchors, int64_t n,              \
                              int64_t anchor_stride, int64_t channel_stride, T *out)         \
{                                                                                            \
    corners_##SFX(data, anchors, n, anchor_stride, channel_stride, out);                     \
}                                                                                            \
                                                                                             \
int64_t accel_decode_detect_##SFX(const T *data, int64_t n_anchors, int64_t anchor_stride,   \
                                  int64_t channel_stride, int64_t cls_offset, int64_t nc,    \
                                  int64_t obj_offset, double threshold, int multi_label,     \
                                  int check_finite, int64_t capacity, int64_t *anchors_out,  \
                                  int64_t *classes_out, T *scores_out, T *boxes_out,         \
                                  int64_t *first_bad, int64_t *box_bad)                      \
{                                                                                            \
    int64_t count = accel_decode_scan_##SFX(data, n_anchors, anchor_stride, channel_stride,  \
                                            cls_offset, nc, obj_offset, threshold,           \
                                            multi_label, check_finite, capacity,             \
                                            anchors_out, classes_out, scores_out, first_bad);\
    if (count <= capacity && *first_bad < 0) {                                               \
        int64_t bad = corners_##SFX(data, anchors_out, count, anchor_stride, channel_stride, \
                                    boxes_out);                                              \
        *box_bad = check_finite ? bad : -1;                                                  \
    }                                                                                        \
    return count;                                                                            \
}

DEFINE_DECODE_KERNELS(f32, float, int32_t, INT32_MAX)
DEFINE_DECODE_KERNELS(f64, double, int64_t, INT64_MAX)

/* Integer codes: int8 and uint8 outputs of quantized models (decode.h). The public layer
   turns the float threshold into one integer cut-off and takes the maximum over codes
   (distinct codes are distinct values, in the same order), so these scans are the float
   scans without objectness, NaN or products: a running maximum of codes, then one
   comparison with the cut-off per anchor.

   Class-major, the layout of YOLOv8's (1, 4 + nc, A) output: the float scan's groups, in
   lanes of 8 bits. best and arg (the first class of the group that raised the maximum,
   an uint8_t: nc <= 256 here, larger nc takes the anchor-major path) have the width of a
   code, so every select is lane for lane and a vector holds 16 (SSE2) or 32 (AVX2) anchors;
   -O3 vectorises code_fold_row and code_fold_groups (checked with -fopt-info-vec). The
   compiler picks the signed or unsigned byte maximum and comparison by T (int8_t,
   uint8_t), and the cut-off is compared as an int64_t, never converted to T: -129 (int8)
   or -1 (uint8) keeps every anchor, 127 or 255 none. */
#define CODE_BLOCK 4096  /* anchors per block: best and arg take 8 KB together */

#define DEFINE_CODE_KERNELS(SFX, T)                                                          \
                                                                                             \
typedef struct {                                                                             \
    int64_t capacity, count;                                                                 \
    int64_t *anchors, *classes;                                                              \
    T *codes;                                                                                \
} code_rows_##SFX;                                                                           \
                                                                                             \
/* Rows past capacity are counted, not written: the caller retries with that count. */      \
static void put_code_##SFX(code_rows_##SFX *out, int64_t anchor, int64_t cls, T code)        \
{                                                                                            \
    int64_t k = out->count++;                                                                \
    if (k < out->capacity) {                                                                 \
        out->anchors[k] = anchor;                                                            \
        out->classes[k] = cls;                                                               \
        out->codes[k] = code;                                                                \
    }                                                                                        \
}                                                                                            \
                                                                                             \
ACCEL_CLONES                                                                                 \
static void code_fold_row_##SFX(T *ACCEL_RESTRICT best, const T *ACCEL_RESTRICT row,         \
                                int64_t n)                                                   \
{                                                                                            \
    int64_t i;                                                                               \
    for (i = 0; i < n; i++) {                                                                \
        T v = row[i], b = best[i];                                                           \
        best[i] = v > b ? v : b;                                                             \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* Rows first .. first + 2 * GROUP - 1 in one pass over best and arg, as fold_groups. */     \
ACCEL_CLONES                                                                                 \
static void code_fold_groups_##SFX(T *ACCEL_RESTRICT best, uint8_t *ACCEL_RESTRICT arg,      \
                                   const T *ACCEL_RESTRICT row, int64_t channel_stride,      \
                                   int64_t n, uint8_t first)                                 \
{                                                                                            \
    const T *r1 = row + channel_stride, *r2 = r1 + channel_stride, *r3 = r2 + channel_stride;\
    const T *r4 = r3 + channel_stride, *r5 = r4 + channel_stride, *r6 = r5 + channel_stride; \
    const T *r7 = r6 + channel_stride;                                                       \
    const uint8_t second = (uint8_t)(first + GROUP);                                         \
    int64_t i;                                                                               \
    for (i = 0; i < n; i++) {                                                                \
        T m = row[i], m2 = r4[i], v, b = best[i];                                            \
        uint8_t a = arg[i];                                                                  \
        v = r1[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r2[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r3[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r5[i];                                                                           \
        m2 = v > m2 ? v : m2;                                                                \
        v = r6[i];                                                                           \
        m2 = v > m2 ? v : m2;                                                                \
        v = r7[i];                                                                           \
        m2 = v > m2 ? v : m2;                                                                \
        a = m > b ? first : a;                                                               \
        b = m > b ? m : b;                                                                   \
        a = m2 > b ? second : a;                                                             \
        b = m2 > b ? m2 : b;                                                                 \
        best[i] = b;                                                                         \
        arg[i] = a;                                                                          \
    }                                                                                        \
}                                                                                            \
                                                                                             \
ACCEL_CLONES                                                                                 \
static void code_fold_group_##SFX(T *ACCEL_RESTRICT best, uint8_t *ACCEL_RESTRICT arg,       \
                                  const T *ACCEL_RESTRICT row, int64_t channel_stride,       \
                                  int64_t n, uint8_t first)                                  \
{                                                                                            \
    const T *r1 = row + channel_stride, *r2 = r1 + channel_stride, *r3 = r2 + channel_stride;\
    int64_t i;                                                                               \
    for (i = 0; i < n; i++) {                                                                \
        T m = row[i], v, b = best[i];                                                        \
        uint8_t a = arg[i];                                                                  \
        v = r1[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r2[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        v = r3[i];                                                                           \
        m = v > m ? v : m;                                                                   \
        a = m > b ? first : a;                                                               \
        b = m > b ? m : b;                                                                   \
        best[i] = b;                                                                         \
        arg[i] = a;                                                                          \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* scores points at class 0 of anchor 0; class c of anchor a is scores[a + c * stride];     \
   nc <= 256. A kept anchor's class is the first in its group equal to its maximum (the     \
   float scan's argument: the first group whose maximum beats the running one holds it). */ \
static void code_scan_class_major_##SFX(const T *scores, int64_t n_anchors,                  \
                                        int64_t channel_stride, int64_t nc,                  \
                                        int64_t threshold, int multi_label,                  \
                                        code_rows_##SFX *out)                                \
{                                                                                            \
    T best[CODE_BLOCK];                                                                      \
    uint8_t arg[CODE_BLOCK];                                                                 \
    int64_t head = 1 + (nc - 1) % GROUP, start, i, c;                                        \
    for (start = 0; start < n_anchors; start += CODE_BLOCK) {                                \
        int64_t n = n_anchors - start < CODE_BLOCK ? n_anchors - start : CODE_BLOCK;         \
        const T *block = scores + start;                                                     \
        for (i = 0; i < n; i++) {                                                            \
            best[i] = block[i];                                                              \
            arg[i] = 0;                                                                      \
        }                                                                                    \
        for (c = 1; c < head; c++)                                                           \
            code_fold_row_##SFX(best, block + c * channel_stride, n);                        \
        for (c = head; c + 2 * GROUP <= nc; c += 2 * GROUP)                                  \
            code_fold_groups_##SFX(best, arg, block + c * channel_stride, channel_stride, n, \
                                   (uint8_t)c);                                              \
        if (c < nc)                                                                          \
            code_fold_group_##SFX(best, arg, block + c * channel_stride, channel_stride, n,  \
                                  (uint8_t)c);                                               \
        for (i = 0; i < n; i++) {                                                            \
            const T *column = block + i;                                                     \
            if (!((int64_t)best[i] > threshold))                                             \
                continue;                                                                    \
            if (multi_label) {                                                               \
                for (c = 0; c < nc; c++) {                                                   \
                    T s = column[c * channel_stride];                                        \
                    if ((int64_t)s > threshold)                                              \
                        put_code_##SFX(out, start + i, c, s);                                \
                }                                                                            \
            } else {                                                                         \
                int64_t last = nc - arg[i] > GROUP ? (int64_t)arg[i] + GROUP - 1 : nc - 1;   \
                for (c = arg[i]; c < last && column[c * channel_stride] != best[i]; c++)     \
                    ;                                                                        \
                put_code_##SFX(out, start + i, c, best[i]);                                  \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* The largest of n contiguous codes: a reduction -O3 vectorises (integer maxima are         \
   associative, unlike the float ones). */                                                   \
static T code_max_##SFX(const T *ACCEL_RESTRICT scores, int64_t n)                           \
{                                                                                            \
    T m = scores[0];                                                                         \
    int64_t c;                                                                               \
    for (c = 1; c < n; c++)                                                                  \
        m = scores[c] > m ? scores[c] : m;                                                   \
    return m;                                                                                \
}                                                                                            \
                                                                                             \
/* Any strides: each anchor's largest code, then, for a kept anchor, its first class         \
   holding it (or every class above the cut-off). */                                         \
static void code_scan_anchor_major_##SFX(const T *data, int64_t n_anchors,                   \
                                         int64_t anchor_stride, int64_t channel_stride,      \
                                         int64_t cls_offset, int64_t nc, int64_t threshold,  \
                                         int multi_label, code_rows_##SFX *out)              \
{                                                                                            \
    int64_t a, c;                                                                            \
    for (a = 0; a < n_anchors; a++) {                                                        \
        const T *scores = data + a * anchor_stride + cls_offset * channel_stride;            \
        T m;                                                                                 \
        if (channel_stride == 1) {                                                           \
            m = code_max_##SFX(scores, nc);                                                  \
        } else {                                                                             \
            m = scores[0];                                                                   \
            for (c = 1; c < nc; c++) {                                                       \
                T v = scores[c * channel_stride];                                            \
                m = v > m ? v : m;                                                           \
            }                                                                                \
        }                                                                                    \
        if (!((int64_t)m > threshold))                                                       \
            continue;                                                                        \
        if (multi_label) {                                                                   \
            for (c = 0; c < nc; c++) {                                                       \
                T s = scores[c * channel_stride];                                            \
                if ((int64_t)s > threshold)                                                  \
                    put_code_##SFX(out, a, c, s);                                            \
            }                                                                                \
        } else {                                                                             \
            for (c = 0; c < nc - 1 && scores[c * channel_stride] != m; c++)                  \
                ;                                                                            \
            put_code_##SFX(out, a, c, m);                                                    \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
int64_t accel_decode_scan_##SFX(const T *data, int64_t n_anchors, int64_t anchor_stride,     \
                                int64_t channel_stride, int64_t cls_offset, int64_t nc,      \
                                int64_t threshold, int multi_label, int64_t capacity,        \
                                int64_t *anchors_out, int64_t *classes_out, T *codes_out)    \
{                                                                                            \
    code_rows_##SFX out;                                                                     \
    out.capacity = capacity;                                                                 \
    out.count = 0;                                                                           \
    out.anchors = anchors_out;                                                               \
    out.classes = classes_out;                                                               \
    out.codes = codes_out;                                                                   \
    if (anchor_stride == 1 && nc <= 256)                                                     \
        code_scan_class_major_##SFX(data + cls_offset * channel_stride, n_anchors,           \
                                    channel_stride, nc, threshold, multi_label, &out);       \
    else                                                                                     \
        code_scan_anchor_major_##SFX(data, n_anchors, anchor_stride, channel_stride,         \
                                     cls_offset, nc, threshold, multi_label, &out);          \
    return out.count;                                                                        \
}

DEFINE_CODE_KERNELS(i8, int8_t)
DEFINE_CODE_KERNELS(u8, uint8_t)
