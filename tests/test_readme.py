"""Every Python example in the README runs, in order, and says what its comments claim."""
import os
import re

import numpy as np
import pytest

import accel

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def python_blocks():
    with open(README) as fh:
        return re.findall(r"```python\n(.*?)```", fh.read(), re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 3


def test_readme_examples_run():
    if not accel.backends()["cffi"].available:
        pytest.skip("the README's use_backend example needs the cffi backend: %s"
                    % accel.backends()["cffi"].reason)
    blocks = python_blocks()
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # NMS
    nms, boxes, scores = namespace["nms"], namespace["boxes"], namespace["scores"]
    np.testing.assert_array_equal(nms(boxes, scores, 0.45), [0, 2])
    np.testing.assert_array_equal(namespace["batched_nms"](boxes, scores, namespace["classes"],
                                                           0.45), [0, 1, 2])
    exec(compile(blocks[1], "README.md", "exec"), namespace)  # preprocessing
    assert namespace["img"].shape == (640, 640, 3)
    assert namespace["x"].shape == (1, 3, 640, 640) and namespace["x"].dtype == np.float32
    assert namespace["info"].pad_top == 140 and namespace["info"].src_shape == (1080, 1920)
    for block in blocks[2:]:
        exec(compile(block, "README.md", "exec"), namespace)
    dets = namespace["dets"]
    assert len(dets) == 1 and dets[0].dtype == np.float32 and dets[0].shape[1] == 6
    assert len(dets[0]) > 0 and np.all(np.diff(dets[0][:, 4]) <= 0)  # best first


def _run_every_example():
    """The namespace left by every README example, run in order."""
    if not accel.backends()["cffi"].available:
        pytest.skip("the README's use_backend example needs the cffi backend: %s"
                    % accel.backends()["cffi"].reason)
    namespace = {}
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), namespace)
    return namespace


def test_readme_segmentation_example_says_what_it_claims():
    namespace = _run_every_example()
    detections, masks = namespace["seg_dets"], namespace["masks"]
    assert detections.shape[1] == 6 and len(detections) > 0
    assert masks.dtype == np.bool_ and masks.shape == (len(detections), 1080, 1920)
    assert (namespace["overlay"] != namespace["frame"]).any()
    crops, origins = namespace["crops"], namespace["origins"]
    for k in range(len(crops)):
        x, y = origins[k]
        h, w = crops[k].shape
        np.testing.assert_array_equal(crops[k], masks[k, y:y + h, x:x + w])


def test_readme_pose_and_obb_examples_say_what_they_claim():
    namespace = _run_every_example()
    people, keypoints = namespace["people"], namespace["keypoints"]
    assert people.shape[1] == 6 and keypoints.shape == (len(people), 17, 3)
    assert (keypoints[..., 0] <= 1920).all() and (keypoints[..., 1] <= 1080).all()
    obb = namespace["obb"]
    assert obb.shape[1] == 7 and len(obb) > 0
    assert ((obb[:, 4] >= 0) & (obb[:, 4] < np.pi)).all() and (obb[:, 2] >= obb[:, 3]).all()
    keep, scores = namespace["keep"], namespace["scores"]
    assert 0 < len(keep) < len(scores) and np.all(np.diff(scores[keep]) <= 0)  # suppresses, best first


def test_readme_runtime_examples_give_frame_detections():
    """Each runtime's example ends in (K, 6) float32 detections on the 1080p frame, best
    first; the int8 ones equal the float decode of their dequantized outputs (the
    README's claim), here checked on the TFLite output."""
    namespace = _run_every_example()
    for name in ("onnx_dets", "tflite_dets", "rknn_dets", "ncnn_dets", "darknet_dets"):
        dets = namespace[name]
        assert dets.dtype == np.float32 and dets.ndim == 2 and dets.shape[1] == 6, name
        assert len(dets) > 0 and np.all(np.diff(dets[:, 4]) <= 0), name
        assert dets[:, [0, 2]].min() >= 0 and dets[:, [0, 2]].max() <= 1920, name
        assert dets[:, [1, 3]].min() >= 0 and dets[:, [1, 3]].max() <= 1080, name
    from accel._quant import dequantize, quant_params

    q, scale, zero_point = namespace["q"], namespace["scale"], namespace["zero_point"]
    floats = dequantize(q, quant_params((scale, zero_point), "quant", q.dtype))
    expected = accel.postprocess(floats, "yolov8", box_scale=640, letterbox=namespace["info"])[0]
    np.testing.assert_array_equal(namespace["tflite_dets"], expected)
    assert namespace["x"].dtype == np.float32  # the ncnn example's input, the last one made
