"""Numba mask kernel: ``process_masks`` (contract in ``accel._masks``; boundary and the
exact float64 arithmetic in ``accel._backends``).

Same float64 operations, in the same order, as ``accel._backends.python.masks``, so the
masks are bit-identical; only fewer of them. Per detection (in order, so overlapping
windows end as in the reference):

* the column positions and weights of its target columns, once;
* its target rows walk down, and each needs the horizontal blends ``wx0 * L[r][c0] +
  wx1 * L[r][c1]`` of its two source rows ``r0 <= r1 <= r0 + 1``. A source row's blends
  are computed once, when first needed, into one of two scratch rows (the one of the
  row's parity, labelled with the row it holds): source rows only go up, so a row shared
  with the previous target row is still there. A source row no target row samples (a
  downscale) is never computed;
* computing a source row's blends first computes the float64 logits of that row over
  the columns the detection samples: channel-outer, each channel added to a float64
  scratch row (per pixel the sum is ``0.0 + w0 * p0 + w1 * p1 + ...`` in channel order,
  as in the reference, and the loop over a contiguous row vectorises);
* each target pixel is then ``wy0 * H[r0][x] + wy1 * H[r1][x] > 0.0``, written as 1 or 0.

Every loop over a row is a small function over 1-D arrays, as in ``preprocess`` (there,
the same loops inlined in a bigger loop stayed scalar on Numba 0.56 / LLVM 11); passing
a slice of the map to the channel loop measured faster than indexing the 3-D map in it.
No ``fastmath`` (it would let LLVM reassociate the channel sum or fuse a multiply and an
add into an FMA: the x86-64 code has no FMA instruction). Indices are not checked (Numba
does not check bounds): the caller keeps to the contract, as for the other kernels.
Compiled on
the first call and cached on disk (``cache=True``); releases the GIL (``nogil``). Scratch
memory is allocated per call: concurrent calls from several threads are safe.
"""
import numpy as np

from ._shared import jit


@jit
def _position(index, scale, size):
    """Bilinear sample of target index ``index`` along an axis of ``size`` source cells:
    ``(i0, i1, 1.0 - f, f)``."""
    position = (np.float64(index) + 0.5) * scale - 0.5
    if position < 0.0:
        position = 0.0
    below = np.int64(position)
    above = below + 1 if below < size - 1 else below
    fraction = position - below
    return below, above, 1.0 - fraction, fraction


@jit
def _zero(row):
    for i in range(row.shape[0]):
        row[i] = 0.0


@jit
def _accumulate(row, weight, proto):
    """row[c] += weight * float64(proto[c]): one channel of a row of logits."""
    for c in range(row.shape[0]):
        row[c] += weight * np.float64(proto[c])


@jit
def _horizontal(logits, low, high, low_weight, high_weight, blend):
    """blend[x] = wx0 * L[c0] + wx1 * L[c1] for every target column x."""
    for x in range(blend.shape[0]):
        blend[x] = low_weight[x] * logits[low[x]] + high_weight[x] * logits[high[x]]


@jit
def _vertical(upper, lower, wy0, wy1, target):
    """target[x] = 1 if wy0 * upper[x] + wy1 * lower[x] > 0.0 else 0."""
    for x in range(target.shape[0]):
        value = wy0 * upper[x] + wy1 * lower[x]
        target[x] = 1 if value > 0.0 else 0


@jit
def _source_row(protos, coeffs, k, row, first_col, logits, low, high, low_weight,
                high_weight, blend):
    """The horizontal blends of prototype-map row ``row`` (absolute) for detection k;
    ``low``/``high`` are relative to absolute column ``first_col``."""
    _zero(logits)
    stop = first_col + logits.shape[0]
    for channel in range(protos.shape[0]):
        _accumulate(logits, coeffs[k, channel], protos[channel, row, first_col:stop])
    _horizontal(logits, low, high, low_weight, high_weight, blend)


@jit
def _process_masks(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left,
                   rows, cols, out):
    widest = 0
    for k in range(windows.shape[0]):
        width = windows[k, 2] - windows[k, 0]
        if windows[k, 3] > windows[k, 1] and width > widest:
            widest = width
    col_low = np.empty(widest, np.int64)
    col_high = np.empty(widest, np.int64)
    col_low_w = np.empty(widest, np.float64)
    col_high_w = np.empty(widest, np.float64)
    logits_row = np.empty(cols, np.float64)  # a detection's samples span <= cols columns
    blends = np.empty((2, widest), np.float64)
    labels = np.empty(2, np.int64)
    for k in range(windows.shape[0]):
        x0 = windows[k, 0]
        y0 = windows[k, 1]
        x1 = windows[k, 2]
        y1 = windows[k, 3]
        if x0 >= x1 or y0 >= y1:
            continue
        width = x1 - x0
        low = col_low[:width]
        high = col_high[:width]
        low_w = col_low_w[:width]
        high_w = col_high_w[:width]
        first_col = _position(x0, scale_x, cols)[0]
        for x in range(width):  # relative to first_col
            c0, c1, w0, w1 = _position(x0 + x, scale_x, cols)
            low[x] = c0 - first_col
            high[x] = c1 - first_col
            low_w[x] = w0
            high_w[x] = w1
        logits = logits_row[:high[width - 1] + 1]
        slot0 = blends[0, :width]
        slot1 = blends[1, :width]
        labels[0] = -1  # the source row each slot holds (row r goes to slot r & 1)
        labels[1] = -1
        for y in range(y1 - y0):
            r0, r1, wy0, wy1 = _position(y0 + y, scale_y, rows)
            s0 = r0 & 1
            s1 = r1 & 1
            if labels[s0] != r0:
                _source_row(protos, coeffs, k, top + r0, left + first_col, logits, low,
                            high, low_w, high_w, slot0 if s0 == 0 else slot1)
                labels[s0] = r0
            if labels[s1] != r1:
                _source_row(protos, coeffs, k, top + r1, left + first_col, logits, low,
                            high, low_w, high_w, slot0 if s1 == 0 else slot1)
                labels[s1] = r1
            start = offsets[k] + y * strides[k]
            _vertical(slot0 if s0 == 0 else slot1, slot0 if s1 == 0 else slot1, wy0, wy1,
                      out[start:start + width])


# ---------------------------------------------------------------------------------------
# The backend boundary (declared in accel._backends)
# ---------------------------------------------------------------------------------------
# The scalars are coerced so that every call reaches the same compiled specialisation
# whatever Python or NumPy scalar types the caller passed.

def process_masks(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left,
                  rows, cols, out):
    _process_masks(protos, coeffs, windows, offsets, strides, float(scale_y),
                   float(scale_x), int(top), int(left), int(rows), int(cols), out)
