/* accel decoding kernels. Declarations only: this file is passed verbatim to cffi's
   ffi.cdef() after nms.h and preprocess.h, so it holds no #include, no include guard
   and no macro. Implementation: decode.c.

   Contract (see accel/_decode_common.py and the reference accel/_backends/python/decode.py);
   every result is bit-identical to the reference's for finite data. The functions read
   their inputs only, allocate nothing, call back into nothing and may run without the GIL.

   decode_scan: data holds one prediction; channel ch of anchor a is
   data[a * anchor_stride + ch * channel_stride]. The caller guarantees n_anchors >= 0,
   nc >= 1, strides >= 0, cls_offset >= 0, and that every index the scan can touch
   (channels cls_offset .. cls_offset + nc - 1, and obj_offset when obj_offset >= 0, of
   every anchor) lies inside data. With obj_offset >= 0, anchors whose objectness is not
   > threshold are skipped and class scores are multiplied by the objectness in the
   data's type. Single-label (multi_label == 0): one row per anchor whose largest class
   score is > threshold, with the first class holding it. Multi-label: one row per
   (anchor, class) with score > threshold. Rows come in increasing anchor, then class,
   order: the anchor, the class and the score go to anchors_out, classes_out and
   scores_out at the same position. Only the first `capacity` rows are written; the
   return value is the number of rows of the whole answer, so a return value above
   capacity asks for a second call with room for that many rows. Single-label never
   needs more than n_anchors rows, multi-label at most n_anchors * nc. threshold is
   compared in double, exactly as the reference compares its Python float.

   check_finite: when non-zero, *first_bad is set to the lowest anchor a such that a value
   the scan reads for a is NaN or infinite, else to -1 (always -1 when check_finite is 0).
   The values read: without objectness, the nc class scores of every anchor; with it, the
   objectness of every anchor and the class scores of the anchors whose objectness is
   > threshold (a skipped anchor's class scores are not tested). When *first_bad >= 0 the
   rows and the return value are unspecified (the scan may stop there).

   scale_boxes: boxes and out are n rows of x1, y1, x2, y2 (out may not overlap boxes).
   Each x becomes ((double)x - pad_x) / gain_x and each y ((double)y - pad_y) / gain_y;
   when clip is non-zero, a value < 0 becomes 0.0 and one > width (> height for y)
   becomes width (height), by those two comparisons, so -0.0 stays -0.0; the result is
   rounded once to the output type. */

int64_t accel_decode_scan_f32(const float *data, int64_t n_anchors, int64_t anchor_stride,
                              int64_t channel_stride, int64_t cls_offset, int64_t nc,
                              int64_t obj_offset, double threshold, int multi_label,
                              int check_finite, int64_t capacity, int64_t *anchors_out,
                              int64_t *classes_out, float *scores_out, int64_t *first_bad);

int64_t accel_decode_scan_f64(const double *data, int64_t n_anchors, int64_t anchor_stride,
                              int64_t channel_stride, int64_t cls_offset, int64_t nc,
                              int64_t obj_offset, double threshold, int multi_label,
                              int check_finite, int64_t capacity, int64_t *anchors_out,
                              int64_t *classes_out, double *scores_out, int64_t *first_bad);

/* decode_boxes: row i of out (n rows of 4) is the corners of anchor anchors[i], whose
   channel c (cx, cy, w, h for c = 0..3) is data[anchors[i] * anchor_stride + c *
   channel_stride]: cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, each operation in the
   data's type (w / 2 is exact). Every index must be in range. */
void accel_decode_boxes_f32(const float *data, const int64_t *anchors, int64_t n,
                            int64_t anchor_stride, int64_t channel_stride, float *out);

void accel_decode_boxes_f64(const double *data, const int64_t *anchors, int64_t n,
                            int64_t anchor_stride, int64_t channel_stride, double *out);

/* decode_detect: decode_scan, and when every row fit (return value <= capacity) and
   *first_bad is -1, decode_boxes of the rows' anchors into boxes_out (capacity rows of 4)
   in the same call. *box_bad is set to -1, or, with check_finite, to the first row whose
   anchor holds a NaN or infinity among its four box channels (the exact values, not the
   corners, which a huge finite box can overflow). When the rows did not fit or
   *first_bad >= 0, boxes_out and *box_bad are not written. Only float data. */
int64_t accel_decode_detect_f32(const float *data, int64_t n_anchors, int64_t anchor_stride,
                                int64_t channel_stride, int64_t cls_offset, int64_t nc,
                                int64_t obj_offset, double threshold, int multi_label,
                                int check_finite, int64_t capacity, int64_t *anchors_out,
                                int64_t *classes_out, float *scores_out, float *boxes_out,
                                int64_t *first_bad, int64_t *box_bad);

int64_t accel_decode_detect_f64(const double *data, int64_t n_anchors, int64_t anchor_stride,
                                int64_t channel_stride, int64_t cls_offset, int64_t nc,
                                int64_t obj_offset, double threshold, int multi_label,
                                int check_finite, int64_t capacity, int64_t *anchors_out,
                                int64_t *classes_out, double *scores_out, double *boxes_out,
                                int64_t *first_bad, int64_t *box_bad);

void accel_scale_boxes_f32(const float *boxes, int64_t n, double gain_x, double gain_y,
                           double pad_x, double pad_y, int clip, double width, double height,
                           float *out);

void accel_scale_boxes_f64(const double *boxes, int64_t n, double gain_x, double gain_y,
                           double pad_x, double pad_y, int clip, double width, double height,
                           double *out);

/* decode_scan of integer codes (int8, uint8: quantized outputs), no objectness: as
   accel_decode_scan_f32 with obj_offset < 0, the codes compared as integers. An anchor's
   code is its largest class code, its class the first holding it; it is kept when
   code > threshold, an integer compared without conversion to the code type (so
   threshold = -129 (int8) or -1 (uint8) keeps every anchor). Multi-label: every
   (anchor, class) with code > threshold. The codes go to codes_out; rows, order and the
   capacity protocol as accel_decode_scan_f32. Codes are never NaN: no first_bad. */

int64_t accel_decode_scan_i8(const int8_t *data, int64_t n_anchors, int64_t anchor_stride,
                             int64_t channel_stride, int64_t cls_offset, int64_t nc,
                             int64_t threshold, int multi_label, int64_t capacity,
                             int64_t *anchors_out, int64_t *classes_out, int8_t *codes_out);

int64_t accel_decode_scan_u8(const uint8_t *data, int64_t n_anchors, int64_t anchor_stride,
                             int64_t channel_stride, int64_t cls_offset, int64_t nc,
                             int64_t threshold, int multi_label, int64_t capacity,
                             int64_t *anchors_out, int64_t *classes_out, uint8_t *codes_out);
