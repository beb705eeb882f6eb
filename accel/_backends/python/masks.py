"""Pure-Python mask kernel: the readable reference of ``process_masks`` (contract in
``accel._masks``; boundary in ``accel._backends``).

For each detection, only the target pixels inside its box are computed: the logits of the
prototype pixels that box's bilinear samples touch (a float64 dot product over the
channels, summed in channel order from 0.0), then each target pixel's bilinear blend of
its four prototype logits, in the fixed order every backend uses. Pixels outside the box
are never touched: the caller zeroed them.
"""
from ._shared import plain_ints, values


def source_positions(first, stop, scale, size):
    """Bilinear sample positions of target indices ``first..stop-1`` along one axis
    (``align_corners=False``): for each, the two source indices and their weights."""
    low, high, low_weight, high_weight = [], [], [], []
    for index in range(first, stop):
        position = (index + 0.5) * scale - 0.5
        if position < 0.0:
            position = 0.0
        below = int(position)
        above = below + 1 if below < size - 1 else below
        fraction = position - below
        low.append(below)
        high.append(above)
        low_weight.append(1.0 - fraction)
        high_weight.append(fraction)
    return low, high, low_weight, high_weight


def process_masks(protos, coeffs, windows, offsets, strides, scale_y, scale_x, top, left,
                  rows, cols, out):
    channels, height, width = plain_ints(protos.shape)
    plane = height * width
    proto = values(protos)
    coefficients = values(coeffs)
    window = plain_ints(values(windows))
    offset, stride = plain_ints(values(offsets)), plain_ints(values(strides))
    top, left, rows, cols = plain_ints((top, left, rows, cols))
    target = memoryview(out)
    for k in range(len(offset)):
        x0, y0, x1, y1 = window[4 * k:4 * k + 4]
        if x0 >= x1 or y0 >= y1:
            continue
        row_low, row_high, row_low_w, row_high_w = source_positions(y0, y1, scale_y, rows)
        col_low, col_high, col_low_w, col_high_w = source_positions(x0, x1, scale_x, cols)
        first_row, first_col = row_low[0], col_low[0]
        weights = coefficients[channels * k:channels * (k + 1)]
        logits = []  # logits[r - first_row][c - first_col]
        for r in range(first_row, row_high[-1] + 1):
            line = []
            for c in range(first_col, col_high[-1] + 1):
                pixel = (top + r) * width + left + c
                total = 0.0
                for channel in range(channels):
                    total += weights[channel] * proto[channel * plane + pixel]
                line.append(total)
            logits.append(line)
        for y in range(y1 - y0):
            upper = logits[row_low[y] - first_row]
            lower = logits[row_high[y] - first_row]
            wy0, wy1 = row_low_w[y], row_high_w[y]
            bits = bytearray(x1 - x0)
            for x in range(x1 - x0):
                a, b = col_low[x] - first_col, col_high[x] - first_col
                wx0, wx1 = col_low_w[x], col_high_w[x]
                value = (wy0 * (wx0 * upper[a] + wx1 * upper[b])
                         + wy1 * (wx0 * lower[a] + wx1 * lower[b]))
                if value > 0.0:
                    bits[x] = 1
            start = offset[k] + y * stride[k]
            target[start:start + x1 - x0] = bits
