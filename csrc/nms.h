/* accel NMS kernels. Declarations only: this file is passed verbatim to cffi's ffi.cdef(),
   so it holds no #include, no include guard and no macro. Implementation: nms.c.

   Common contract (see accel/_nms.py and the reference accel/_backends/python/nms.py):
   boxes is n rows of x1, y1, x2, y2 (float64, finite, x1 <= x2, y1 <= y2), scores is n
   finite float64; accel_nms also takes float32 and checks the values itself. Results equal the pure-Python reference's exactly (Soft-NMS scores too,
   as long as C and Python call the same libm exp). keep_out (and scores_out) must hold
   room for n values. The functions read their inputs only, call back into nothing and
   may run without the GIL. */

/* Greedy NMS over the boxes with score > score_threshold (pass -INFINITY for none),
   visited by decreasing score, ties by increasing index; a box is kept unless a kept box
   (of the same class when classes != NULL) has IoU > iou_threshold with it. Stops after
   max_output kept boxes (max_output <= 0 keeps none). Writes the kept indices in keep
   order to keep_out and returns their count, -1 if memory ran out, or -2 (nothing
   written) if a box is not finite with x1 <= x2 and y1 <= y2, or a score is not finite:
   every box and score is checked, whatever the thresholds.
   boxes and scores are float32 when boxes_f32 / scores_f32 is nonzero, else float64
   (unlike the other kernels here, these two take unchecked values); every value is
   read as a double, so both dtypes give the same result for the same values. */
int64_t accel_nms(const void *boxes, int boxes_f32, const void *scores, int scores_f32,
                  const int64_t *classes, int64_t n, double iou_threshold,
                  double score_threshold, int64_t max_output, int64_t *keep_out);

/* Soft-NMS over the boxes with score >= score_threshold: repeatedly select the highest
   current score (ties: lower index), decay the others (gaussian != 0:
   s *= exp(-(iou * iou) / sigma) when iou > 0; else s *= 1 - iou when iou > iou_threshold)
   and drop those now below score_threshold; at most max_output selections. Writes the
   selected indices to keep_out and their scores at selection to scores_out; returns the
   count, or -1 if memory ran out. */
int64_t accel_soft_nms(const double *boxes, const double *scores, int64_t n, int gaussian,
                       double sigma, double iou_threshold, double score_threshold,
                       int64_t max_output, int64_t *keep_out, double *scores_out);

/* Which build of the candidate scan (greedy NMS of at most 1024 candidates per class)
   runs on x86-64 with GCC and glibc: 1 the AVX2 one, 0 the baseline (SSE2) one. The
   choice is made once from the CPU's features. want < 0 keeps it; want = 0 forces the
   baseline and want > 0 goes back to the CPU's choice (for tests and measurements).
   Returns the build now in use (always 0 elsewhere, where there is one build). Both give
   the same results. */
int accel_nms_scan_avx2(int want);
