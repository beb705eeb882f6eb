/* accel preprocessing kernels. Declarations only: this file is passed verbatim to cffi's
   ffi.cdef() after nms.h, so it holds no #include, no include guard and no macro.
   Implementation: preprocess.c.

   Contract (see accel/_preprocess.py and the reference accel/_backends/python/preprocess.py):
   src is a C-contiguous uint8 (h, w, c) image, c in 1, 3, 4. The resize tables are those of
   accel._preprocess.resize_tables: output column x blends source columns xcols[2x],
   xcols[2x + 1] with weights xw[2x], xw[2x + 1] (new_w entries); output row y blends source
   rows yrows[2y], yrows[2y + 1] with weights yw[2y], yw[2y + 1] (new_h entries). The
   resized image lands at rows top..top+new_h-1, columns left..left+new_w-1 of the output;
   every other output pixel is the padding pad (one uint8 per channel). Tensor outputs:
   output channel k holds input channel channel_map[k]; layout nhwc == 0 gives planes
   (c, out_h, out_w), nhwc != 0 interleaved pixels (out_h, out_w, c). With width 0 the
   tensor is float32, ((float)px - mean[k]) * scale[k], two float32 roundings; with width
   1 or 2, table holds c rows of 256 elements of that many bytes (uint8_t or uint16_t) and
   the tensor holds table[256 * k + px] (mean and scale unused). Every result is
   bit-identical to the reference.

   Return value: 0 on success, -1 if scratch memory could not be allocated, -2 if the
   arguments break the contract (channel count, geometry, table indices out of range, a
   negative weight or a weight pair summing past 2050, channel_map outside 0..c-1, a width
   other than 0, 1, 2 or a width without a table); on -2
   nothing is written. resize_tables always meets it: its pairs sum to 2048 +- 1. The functions read their inputs only, call back into nothing and
   may run without the GIL. */

/* Letterbox: out is uint8 (out_h, out_w, c). */
int accel_letterbox(const uint8_t *src, int64_t h, int64_t w, int64_t c,
                    uint8_t *out, int64_t out_h, int64_t out_w,
                    const int32_t *xcols, const int32_t *xw, int64_t new_w,
                    const int32_t *yrows, const int32_t *yw, int64_t new_h,
                    int64_t top, int64_t left, const uint8_t *pad);

/* HWC uint8 image to a tensor: out is (c, h, w) or (h, w, c), float32 or table entries. */
int accel_to_tensor(const uint8_t *src, int64_t h, int64_t w, int64_t c, void *out,
                    const int32_t *channel_map, const float *mean, const float *scale,
                    const void *table, int64_t width, int64_t nhwc);

/* Letterbox then to_tensor in one pass, with no intermediate image: out is (c, out_h,
   out_w) or (out_h, out_w, c); the padding pixel goes through the same conversion. */
int accel_preprocess(const uint8_t *src, int64_t h, int64_t w, int64_t c,
                     void *out, int64_t out_h, int64_t out_w,
                     const int32_t *xcols, const int32_t *xw, int64_t new_w,
                     const int32_t *yrows, const int32_t *yw, int64_t new_h,
                     int64_t top, int64_t left, const uint8_t *pad,
                     const int32_t *channel_map, const float *mean, const float *scale,
                     const void *table, int64_t width, int64_t nhwc);
