# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# nms.pyx compiled a second time, with -mavx2 (setup.py: avx2_twins); the backend's
# __init__ loads this module instead of nms on a CPU that has AVX2. Same source, same
# IEEE operations (no FMA), so the same results: tests/test_avx2_twins.py checks it.
include "nms.pyx"
