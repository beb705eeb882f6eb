"""NumPy mask kernel (contract in ``accel._masks``; boundary in ``accel._backends``).

Per detection, whole-array steps over its box only: the prototype logits of the region
its samples touch, accumulated channel by channel (the reference's summation order, so
the float64 logits are bit-identical; a BLAS matmul would sum in another order), then the
bilinear blend of the box's target pixels as four gathers, in the reference's order.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def _positions(first, stop, scale, size):
    position = (np.arange(first, stop, dtype=np.float64) + 0.5) * scale - 0.5
    position[position < 0.0] = 0.0
    below = position.astype(np.int64)
    above = np.where(below < size - 1, below + 1, below)
    fraction = position - below
    return below, above, 1.0 - fraction, fraction


def process_masks(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left,
                  rows, cols, out):
    channels = protos.shape[0]
    for k in range(windows.shape[0]):
        x0, y0, x1, y1 = (int(v) for v in windows[k])
        if x0 >= x1 or y0 >= y1:
            continue
        row_low, row_high, row_low_w, row_high_w = _positions(y0, y1, scale_y, rows)
        col_low, col_high, col_low_w, col_high_w = _positions(x0, x1, scale_x, cols)
        first_row, first_col = int(row_low[0]), int(col_low[0])
        region = protos[:, top + first_row:top + int(row_high[-1]) + 1,
                        left + first_col:left + int(col_high[-1]) + 1]
        logits = np.zeros(region.shape[1:], dtype=np.float64)
        product = np.empty_like(logits)
        for channel in range(channels):
            np.multiply(coeffs[k, channel], region[channel], out=product, dtype=np.float64)
            logits += product
        col_low -= first_col
        col_high -= first_col
        upper = logits[row_low - first_row]
        lower = logits[row_high - first_row]
        upper_blend = col_low_w * upper[:, col_low] + col_high_w * upper[:, col_high]
        lower_blend = col_low_w * lower[:, col_low] + col_high_w * lower[:, col_high]
        value = row_low_w[:, None] * upper_blend + row_high_w[:, None] * lower_blend
        target = as_strided(out[int(offsets[k]):], shape=(y1 - y0, x1 - x0),
                            strides=(int(strides[k]), 1))
        np.greater(value, 0.0, out=target.view(np.bool_))
