/* accel rotated NMS kernels. Declarations only: this file is passed verbatim to cffi's
   ffi.cdef(), so it holds no #include, no include guard and no macro. Implementation:
   rotated.c.

   Contract: accel/_rotated.py and the "Rotated family" section of accel/_backends; the
   reference is accel/_backends/python/rotated.py, whose IoU arithmetic rotated.c repeats
   operation for operation (polygon results are bit-identical; probiou calls the same libm
   log, exp and sqrt as Python's math module). geometry is n rows of 12 (kind 0, polygon:
   x0, y0, .. x3, y3 counter-clockwise, cx, cy, circle radius, area) or 6 (kind 1, probiou:
   cx, cy, a, b, c, d) float64; scores n float64; classes n int64 or NULL. keep_out must
   hold room for n values. The function reads its inputs only, calls back into nothing and
   may run without the GIL. */

/* Greedy rotated NMS over the boxes with score > score_threshold (pass -INFINITY for
   none), visited by decreasing score, ties by increasing index; a box is kept unless a
   kept box (of the same class when classes != NULL) has IoU > iou_threshold with it.
   Stops after max_output kept boxes (max_output <= 0 keeps none). Writes the kept indices
   in keep order to keep_out and returns their count, -1 if memory ran out, or -2
   (nothing written) if kind is neither 0 nor 1. */
int64_t accel_nms_rotated(const double *geometry, const double *scores,
                          const int64_t *classes, int64_t n, int kind, double iou_threshold,
                          double score_threshold, int64_t max_output, int64_t *keep_out);

/* ultralytics' fast NMS over probiou (kind 1 geometry, n rows of 6, class offsets already
   in the centres): the boxes with score > score_threshold by decreasing score, ties by
   increasing index; a box is kept unless an earlier box, kept or not, has probiou >
   iou_threshold with it. Stops after max_output kept boxes (max_output <= 0 keeps none).
   Writes the kept indices in keep order to keep_out and returns their count, or -1 if
   memory ran out. */
int64_t accel_fast_nms_rotated(const double *geometry, const double *scores, int64_t n,
                               double iou_threshold, double score_threshold,
                               int64_t max_output, int64_t *keep_out);
