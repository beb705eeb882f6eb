/* accel mask kernel. Declarations only: this file is passed verbatim to cffi's ffi.cdef()
   after nms.h, preprocess.h and decode.h, so it holds no #include, no include guard and no
   macro. Implementation: masks.c.

   Contract (see the Masks family in accel/_backends/__init__.py and the reference
   accel/_backends/python/masks.py); every written value equals the reference's.

   accel_process_masks: protos is channels planes of mh x mw float32 (C-contiguous),
   coeffs is n_det rows of channels float64, windows n_det rows of x0, y0, x1, y1 (target
   pixels x0 <= x < x1, y0 <= y < y1; empty when x0 >= x1 or y0 >= y1), offsets and
   strides n_det values: target pixel (x, y) of detection k is
   out[offsets[k] + (y - y0) * strides[k] + (x - x0)]. The prototype window sampled is rows
   top .. top + rows - 1 and columns left .. left + cols - 1. Each pixel of each non-empty
   window gets 1 when its bilinear blend of the float64 logits is > 0.0, else 0; nothing
   else of out is written. The caller guarantees (the cffi wrapper checks): channels >= 0,
   rows, cols >= 1, the prototype window inside the map, scale_y and scale_x finite and
   positive, window coordinates >= 0 and small enough for a double to hold them exactly,
   every sample of every non-empty window inside the prototype window, and every pixel of
   every non-empty window inside out. Returns 0, or -1 if memory ran out (then out may be
   partly written). Reads its inputs only, calls back into nothing, may run without the
   GIL; its scratch memory is its own, so concurrent calls are safe. */

int accel_process_masks(const float *protos, int64_t channels, int64_t mh, int64_t mw,
                        const double *coeffs, int64_t n_det, const int64_t *windows,
                        const int64_t *offsets, const int64_t *strides, double scale_y,
                        double scale_x, int64_t top, int64_t left, int64_t rows,
                        int64_t cols, uint8_t *out);
