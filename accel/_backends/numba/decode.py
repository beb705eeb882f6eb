"""Numba decoding kernels: the class scan and the box un-letterboxing.

Same decisions and the same float arithmetic as ``accel._backends.python.decode``
(boundary and contracts in ``accel._decode_common``), so the results are bit-identical.

``decode_scan`` takes one of two loops, chosen in Python:

* class-major, for ``anchor_stride == 1`` without objectness (YOLOv8's ``(4 + nc, A)``):
  each class is a contiguous row of anchors, so the running maximum and its class are
  updated one class row at a time over a block of anchors, with a compare-and-select
  (no branch) that LLVM turns into vector code. The block is small enough for the
  running maximum and class of its anchors to stay in L1 while the class rows stream
  through. A strict ``>`` over increasing classes keeps the first class of equal maxima
  (``-0.0`` and ``0.0`` included), as the reference's ``max`` then ``index`` does.
  Multi-label only revisits the anchors whose maximum passes the threshold (an anchor
  has a class above the threshold exactly when its maximum is).
* anchor-major otherwise (YOLOv5's ``(A, 5 + nc)``, any strides): per anchor, the
  objectness first, so the classes of most anchors are never read.

``check_finite`` adds no pass over the data: the class-major blend also sums each
anchor's scores (``_blend_sum``), and a block whose sums are not all finite is searched
exactly; the anchor-major loop tests ``x - x == 0`` on what it reads.

With objectness a class score is ``score * objectness`` of two values of the data's
dtype: Numba multiplies two float32 values in float32, the rounding the contract asks
for, so no Python float (which would promote to float64) enters that product. The
threshold stays a float64 and every comparison is in float64: exact whatever the data's
dtype, and the reference's own comparison.

``scale_boxes`` computes in float64 and stores into an output of the boxes' dtype (a
round to nearest), allocated by the Python wrapper so that it is writable whatever Numba
version types ``empty_like`` of a read-only array.

int8 and uint8 data (codes) have a class-major scan of their own (``_codes_class_major``,
up to 256 classes: the C backend's folds of four rows, with the group's first class in a
byte lane beside the byte-wide maximum); otherwise they run the anchor-major loop,
specialised for them. The threshold is an int64 cut-off: the comparison ``code >
threshold`` widens the code, so a cut-off outside the codes' range, such as -129 for
int8, means what it says.

No ``fastmath`` (it would allow reordering, fusing and reciprocal division). Each kernel
is compiled on its first call and cached on disk (``cache=True``), and releases the GIL
(``nogil``). Scratch memory is per call: concurrent calls from several threads are safe.
"""
import numpy as np

from .._detect import detect_by_parts
from ._shared import jit

BLOCK = 2048  # anchors per block of the class-major scan: 16 KiB of float32 max + int32 class



@jit
def _head(array, count):
    """A new array of exactly the first ``count`` elements of ``array``."""
    out = np.empty(count, array.dtype)
    for k in range(count):
        out[k] = array[k]
    return out


@jit
def _first_row(best, arg, row):
    for i in range(best.shape[0]):
        best[i] = row[i]
        arg[i] = 0


@jit
def _first_rows(best, arg, row0, row1):
    """The maximum and class of classes 0 and 1, for an even number of classes."""
    for i in range(best.shape[0]):
        b = row0[i]
        v = row1[i]
        take = v > b
        best[i] = v if take else b
        arg[i] = 1 if take else 0


@jit
def _blend(best, arg, row0, row1, c):
    """Fold class rows ``c`` and ``c + 1`` into the running maximum and its class.

    Two rows per pass, not one: with one row, ``best[i]`` is stored back unchanged
    where the row does not win, so recent LLVM (22, Numba 0.68) stores only where it
    wins, with masked vector stores (``vmaskmovps``) that made the whole scan 5 times
    slower on x86-64; with two rows the stored value is a chain of selects and the store
    stays plain. Four rows in one pass left the loop scalar on LLVM 11 (Numba 0.56).
    Every load comes before the selects: a load inside ``x if t else y`` is evaluated
    only on one side, and becomes a masked load. A function of its own over 1-D
    contiguous slices, so that the vectoriser sees a plain loop (and checks once per call
    that the slices do not overlap).
    """
    for i in range(best.shape[0]):
        b = best[i]
        g = arg[i]
        v0 = row0[i]
        v1 = row1[i]
        take = v0 > b
        b = v0 if take else b
        g = c if take else g
        take = v1 > b
        b = v1 if take else b
        g = c + 1 if take else g
        best[i] = b
        arg[i] = g


@jit
def _blend_sum(best, arg, total, row0, row1, c):
    """``_blend`` that also adds both rows into ``total`` (see ``_sum_rows``)."""
    for i in range(best.shape[0]):
        b = best[i]
        g = arg[i]
        t = total[i]
        v0 = row0[i]
        v1 = row1[i]
        take = v0 > b
        b = v0 if take else b
        g = c if take else g
        take = v1 > b
        b = v1 if take else b
        g = c + 1 if take else g
        best[i] = b
        arg[i] = g
        total[i] = t + (v0 + v1)


@jit
def _sum_rows(total, row0, row1):
    """total[i] += row0[i] + row1[i]: the finiteness test of the class-major scan, a pass
    of its own so that ``_blend`` keeps the loop it was tuned with. A sum is NaN or
    infinite when one of its terms is (the maximum by selects skips a NaN); a sum of
    finite values can overflow, so a non-finite sum only sends the block to the exact
    test (``_first_non_finite``)."""
    for i in range(total.shape[0]):
        total[i] += row0[i] + row1[i]


@jit
def _first_non_finite(data, first_index, start, size, channel_stride, nc):
    """The lowest anchor of ``start .. start + size - 1`` (class ``c`` of anchor ``a`` at
    ``data[first_index + a + c * channel_stride]``) with a NaN or infinite class score,
    or -1. ``x - x`` is 0 for finite x and NaN otherwise."""
    for a in range(start, start + size):
        for c in range(nc):
            v = data[first_index + a + c * channel_stride]
            if not v - v == 0:
                return a
    return -1


@jit
def _finite_run(data, first, count, stride):
    """Whether ``data[first + k * stride]`` is finite for every k < count (a branch per
    value, never taken on finite data)."""
    for k in range(count):
        v = data[first + k * stride]
        if not v - v == 0:
            return False
    return True


@jit
def _objectness(data, base, first, obj_offset, channel_stride):
    """The anchor's objectness; without one, a value of the data's dtype that
    ``_class_score`` ignores (the first class score: always in range)."""
    if obj_offset >= 0:
        return data[base + obj_offset * channel_stride]
    return data[first]


@jit
def _class_score(data, index, objectness, with_objectness):
    if with_objectness:
        return data[index] * objectness  # both of the data's dtype: rounded to it
    return data[index]


@jit
def _all_classes(data, kept, n_kept, anchor_stride, channel_stride, cls_offset, nc,
                 obj_offset, threshold, check_finite, first_bad):
    """Multi-label output of the anchors ``kept[:n_kept]`` (increasing): every class
    above the threshold. Counted first, then written into arrays of exactly that size.
    Arrays grown on demand are variables reassigned inside the loop, and Numba then
    updated their reference counts (atomic operations) on every iteration: the v8
    multi-label case took four times as long, the v5 one almost three times."""
    with_objectness = obj_offset >= 0
    total = 0
    for k in range(n_kept):
        base = kept[k] * anchor_stride
        first = base + cls_offset * channel_stride
        if check_finite and not _finite_run(data, first, nc, channel_stride):
            # kept[k] is below first_bad (the anchors before it only were kept)
            return (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, data.dtype),
                    kept[k])
        objectness = _objectness(data, base, first, obj_offset, channel_stride)
        for c in range(nc):
            if _class_score(data, first + c * channel_stride, objectness,
                            with_objectness) > threshold:
                total += 1
    anchors = np.empty(total, np.int64)
    classes = np.empty(total, np.int64)
    scores = np.empty(total, data.dtype)
    count = 0
    for k in range(n_kept):
        a = kept[k]
        base = a * anchor_stride
        first = base + cls_offset * channel_stride
        objectness = _objectness(data, base, first, obj_offset, channel_stride)
        for c in range(nc):
            v = _class_score(data, first + c * channel_stride, objectness, with_objectness)
            if v > threshold:
                anchors[count] = a
                classes[count] = c
                scores[count] = v
                count += 1
    return anchors, classes, scores, first_bad


@jit
def _class_major(data, n_anchors, channel_stride, cls_offset, nc, threshold, multi_label,
                 check_finite):
    anchors = np.empty(n_anchors, np.int64)
    classes = np.empty(n_anchors, np.int64)
    scores = np.empty(n_anchors, data.dtype)
    count = 0
    block = BLOCK if BLOCK < n_anchors else n_anchors
    best_block = np.empty(block, data.dtype)
    arg_block = np.empty(block, np.int32)  # int32: as many vector lanes as float32
    total_block = np.empty(block if check_finite else 0, data.dtype)
    first = cls_offset * channel_stride
    for start in range(0, n_anchors, BLOCK):
        size = n_anchors - start if n_anchors - start < BLOCK else BLOCK
        best = best_block[:size]
        arg = arg_block[:size]
        row = first + start
        if nc % 2 == 1:
            _first_row(best, arg, data[row:row + size])
            c = 1
        else:
            following = row + channel_stride
            _first_rows(best, arg, data[row:row + size], data[following:following + size])
            c = 2
        if check_finite:  # total: the sum of the rows folded so far
            total = total_block[:size]
            for i in range(size):
                total[i] = data[row + i]
            if c == 2:
                for i in range(size):
                    total[i] += data[row + channel_stride + i]
        while c < nc:  # an even number of rows left
            row = first + c * channel_stride + start
            following = row + channel_stride
            if check_finite:
                _blend_sum(best, arg, total_block[:size], data[row:row + size],
                           data[following:following + size], np.int32(c))
            else:
                _blend(best, arg, data[row:row + size], data[following:following + size],
                       np.int32(c))
            c += 2
        if check_finite:
            finite = True
            total = total_block[:size]
            for i in range(size):
                finite &= total[i] - total[i] == 0
            if not finite:
                bad = _first_non_finite(data, first, start, size, channel_stride, nc)
                if bad >= 0:
                    return (np.empty(0, np.int64), np.empty(0, np.int64),
                            np.empty(0, data.dtype), bad)
        for i in range(size):
            if best[i] > threshold:
                anchors[count] = start + i
                classes[count] = arg[i]
                scores[count] = best[i]
                count += 1
    if multi_label:  # an anchor has a class above the threshold iff its maximum is
        return _all_classes(data, anchors, count, 1, channel_stride, cls_offset, nc, -1,
                            threshold, False, -1)
    return _head(anchors, count), _head(classes, count), _head(scores, count), -1


@jit
def _code_fold_row(best, row):
    for i in range(best.shape[0]):
        v = row[i]
        b = best[i]
        best[i] = v if v > b else b


@jit
def _code_fold_groups(best, arg, r0, r1, r2, r3, r4, r5, r6, r7, first, second):
    """Eight class rows of codes into the running maximum ``best`` and ``arg``, the first
    class of the group of four that last raised it (``first`` or ``second``). Codes and
    classes are bytes: every select is lane for lane (32 anchors per AVX2 vector)."""
    for i in range(best.shape[0]):
        m = r0[i]
        v = r1[i]
        m = v if v > m else m
        v = r2[i]
        m = v if v > m else m
        v = r3[i]
        m = v if v > m else m
        m2 = r4[i]
        v = r5[i]
        m2 = v if v > m2 else m2
        v = r6[i]
        m2 = v if v > m2 else m2
        v = r7[i]
        m2 = v if v > m2 else m2
        b = best[i]
        a = arg[i]
        a = first if m > b else a
        b = m if m > b else b
        a = second if m2 > b else a
        b = m2 if m2 > b else b
        best[i] = b
        arg[i] = a


@jit
def _code_fold_group(best, arg, r0, r1, r2, r3, first):
    for i in range(best.shape[0]):
        m = r0[i]
        v = r1[i]
        m = v if v > m else m
        v = r2[i]
        m = v if v > m else m
        v = r3[i]
        m = v if v > m else m
        b = best[i]
        a = arg[i]
        a = first if m > b else a
        b = m if m > b else b
        best[i] = b
        arg[i] = a


@jit
def _codes_class_major(data, n_anchors, channel_stride, cls_offset, nc, threshold,
                       multi_label):
    """Integer codes, anchor_stride 1, nc <= 256: rows folded four at a time into the
    running maximum and the first class of the group that raised it (a kept anchor's
    class is the first in that group with its maximum, as in the C backend)."""
    anchors = np.empty(n_anchors, np.int64)
    classes = np.empty(n_anchors, np.int64)
    scores = np.empty(n_anchors, data.dtype)
    count = 0
    block = BLOCK if BLOCK < n_anchors else n_anchors
    best_block = np.empty(block, data.dtype)
    arg_block = np.empty(block, np.uint8)
    first = cls_offset * channel_stride
    head = 1 + (nc - 1) % 4
    for start in range(0, n_anchors, BLOCK):
        size = n_anchors - start if n_anchors - start < BLOCK else BLOCK
        best = best_block[:size]
        arg = arg_block[:size]
        row = first + start
        for i in range(size):
            best[i] = data[row + i]
            arg[i] = 0
        for c in range(1, head):
            at = row + c * channel_stride
            _code_fold_row(best, data[at:at + size])
        c = head
        s = channel_stride  # (a list of the row starts cost a heap allocation per pass)
        while c + 8 <= nc:
            a = row + c * s
            _code_fold_groups(best, arg, data[a:a + size], data[a + s:a + s + size],
                              data[a + 2 * s:a + 2 * s + size], data[a + 3 * s:a + 3 * s + size],
                              data[a + 4 * s:a + 4 * s + size], data[a + 5 * s:a + 5 * s + size],
                              data[a + 6 * s:a + 6 * s + size], data[a + 7 * s:a + 7 * s + size],
                              np.uint8(c), np.uint8(c + 4))
            c += 8
        if c < nc:
            a = row + c * s
            _code_fold_group(best, arg, data[a:a + size], data[a + s:a + s + size],
                             data[a + 2 * s:a + 2 * s + size], data[a + 3 * s:a + 3 * s + size],
                             np.uint8(c))
        for i in range(size):
            b = best[i]
            if b > threshold:
                c = np.int64(arg[i])
                last = c + 3 if nc - c > 4 else nc - 1
                while c < last and data[row + i + c * channel_stride] != b:
                    c += 1
                anchors[count] = start + i
                classes[count] = c
                scores[count] = b
                count += 1
    if multi_label:  # an anchor has a class above the cut-off iff its maximum is
        return _all_classes(data, anchors, count, 1, channel_stride, cls_offset, nc, -1,
                            threshold, False, -1)
    return _head(anchors, count), _head(classes, count), _head(scores, count), -1


@jit
def _anchor_major(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                  threshold, multi_label, check_finite):
    anchors = np.empty(n_anchors, np.int64)
    classes = np.empty(n_anchors, np.int64)
    scores = np.empty(n_anchors, data.dtype)
    count = 0
    with_objectness = obj_offset >= 0
    first_bad = -1
    for a in range(n_anchors):
        base = a * anchor_stride
        first = base + cls_offset * channel_stride
        objectness = _objectness(data, base, first, obj_offset, channel_stride)
        if check_finite and with_objectness and not objectness - objectness == 0:
            first_bad = a
            break
        if with_objectness and not objectness > threshold:
            continue
        if multi_label:  # the anchors to revisit (their classes are tested there)
            anchors[count] = a
            count += 1
            continue
        if check_finite and not _finite_run(data, first, nc, channel_stride):
            first_bad = a
            break
        best = _class_score(data, first, objectness, with_objectness)
        arg = 0
        for c in range(1, nc):
            v = _class_score(data, first + c * channel_stride, objectness, with_objectness)
            if v > best:
                best = v
                arg = c
        if best > threshold:
            anchors[count] = a
            classes[count] = arg
            scores[count] = best
            count += 1
    if multi_label:
        return _all_classes(data, anchors, count, anchor_stride, channel_stride, cls_offset,
                            nc, obj_offset, threshold, check_finite, first_bad)
    if first_bad >= 0:
        count = 0
    return _head(anchors, count), _head(classes, count), _head(scores, count), first_bad


@jit
def _unletterboxed(value, pad, gain, clip, limit):
    value = (np.float64(value) - pad) / gain
    if clip:
        if value < 0.0:
            value = 0.0
        elif value > limit:
            value = limit
    return value


@jit
def _scale_boxes(boxes, out, gain_x, gain_y, pad_x, pad_y, clip, width, height):
    for k in range(boxes.shape[0]):
        out[k, 0] = _unletterboxed(boxes[k, 0], pad_x, gain_x, clip, width)
        out[k, 1] = _unletterboxed(boxes[k, 1], pad_y, gain_y, clip, height)
        out[k, 2] = _unletterboxed(boxes[k, 2], pad_x, gain_x, clip, width)
        out[k, 3] = _unletterboxed(boxes[k, 3], pad_y, gain_y, clip, height)


@jit
def _decode_boxes(data, anchors, anchor_stride, channel_stride, out):
    # In float64, then stored into out of the data's dtype: for float32 data the same
    # value as float32 arithmetic (w / 2 is exact, and a float64 sum of two float32
    # values rounds to float32 as a float32 sum does: 53 >= 2 * 24 + 2).
    for i in range(anchors.shape[0]):
        at = anchors[i] * anchor_stride
        cx = np.float64(data[at])
        cy = np.float64(data[at + channel_stride])
        half_w = np.float64(data[at + 2 * channel_stride]) / 2.0
        half_h = np.float64(data[at + 3 * channel_stride]) / 2.0
        out[i, 0] = cx - half_w
        out[i, 1] = cy - half_h
        out[i, 2] = cx + half_w
        out[i, 3] = cy + half_h


# ---------------------------------------------------------------------------------------
# The backend boundary (declared in accel._backends)
# ---------------------------------------------------------------------------------------
# The scalars are coerced so that every call reaches the same compiled specialisation
# whatever Python or NumPy scalar types the caller passed.

def decode_scan(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                threshold, multi_label, check_finite):
    if data.dtype.kind in "iu":
        if obj_offset >= 0:
            raise ValueError("decode_scan: integer data takes no objectness (obj_offset=-1)")
        threshold, check_finite = int(threshold), False
        if anchor_stride == 1 and nc <= 256:  # classes fit the byte lanes of arg
            result = _codes_class_major(data, int(n_anchors), int(channel_stride),
                                        int(cls_offset), int(nc), threshold, bool(multi_label))
            return result[0], result[1], result[2], int(result[3])
    else:
        threshold = float(threshold)
    if obj_offset < 0 and anchor_stride == 1:
        result = _class_major(data, int(n_anchors), int(channel_stride), int(cls_offset),
                              int(nc), threshold, bool(multi_label), bool(check_finite))
    else:
        result = _anchor_major(data, int(n_anchors), int(anchor_stride), int(channel_stride),
                               int(cls_offset), int(nc), int(obj_offset), threshold,
                               bool(multi_label), bool(check_finite))
    return result[0], result[1], result[2], int(result[3])


def decode_boxes(data, anchors, anchor_stride, channel_stride):
    out = np.empty((anchors.shape[0], 4), data.dtype)
    _decode_boxes(data, anchors, int(anchor_stride), int(channel_stride), out)
    return out


def scale_boxes(boxes, gain_x, gain_y, pad_x, pad_y, clip, width, height):
    out = np.empty(boxes.shape, boxes.dtype)
    _scale_boxes(boxes, out, float(gain_x), float(gain_y), float(pad_x), float(pad_y),
                 bool(clip), float(width), float(height))
    return out


def decode_detect(data, n_anchors, anchor_stride, channel_stride, cls_offset, nc, obj_offset,
                  threshold, multi_label, check_finite):
    """``decode_scan``, then ``decode_boxes`` of the anchors it kept (not fused here)."""
    return detect_by_parts(decode_scan, decode_boxes, data, n_anchors, anchor_stride,
                           channel_stride, cls_offset, nc, obj_offset, threshold, multi_label,
                           check_finite)
