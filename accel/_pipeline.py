"""``Pipeline``: preprocess, a model call and postprocess for a stream of frames.

Each frame is letterboxed into a float32 (1, C, H, W) tensor (or the dtype and layout
the model takes: ``dtype``, ``layout``, ``quant``) taken from a small pool that the
pipeline owns (``preprocess(..., out=tensor)``), the tensor is handed to the
model call, and the pool gets it back as soon as that call returns: a tensor is never
written while a model call may still read it, and in steady state no frame allocates a
new one (a fresh 4.9 MB tensor per frame costs hundreds of minor page faults).
``map`` runs whole frames on a few worker threads and yields the detections in frame
order: while one thread runs the model on frame i, another preprocesses frame i + 1 or
postprocesses frame i - 1. accel's compiled kernels and onnxruntime's ``run`` release
the GIL, so the threads really run at once.
"""
from __future__ import annotations

import collections
import contextvars
import threading
from typing import (Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional,
                    TYPE_CHECKING, Tuple, Union)

import numpy as np

from . import _validate as check
from ._decode_common import FORMATS
from ._geometry import LetterboxInfo, shape_pair
from ._postprocess import postprocess
from ._preprocess import _tensor_params, preprocess

if TYPE_CHECKING:  # annotations only: neither is imported at run time by `import accel`
    from concurrent.futures import Future
    from numpy.typing import ArrayLike

# postprocess's keyword options, which a Pipeline passes through (it gives letterbox).
POSTPROCESS_OPTIONS = tuple(name for name in (postprocess.__kwdefaults__ or {}) if name != "letterbox")
# preprocess's options that choose the model's input tensor, passed through likewise.
PREPROCESS_OPTIONS = ("dtype", "layout", "quant")
_KEPT_TENSORS = 8  # free tensors kept per channel count; more concurrent callers allocate
_WORKER_PREFIX = "accel-pipeline"  # map()'s worker threads are named this, then _N


class _TensorPool:
    """Free input tensors ((1, C, H, W) or (1, H, W, C)), taken by one frame from its
    preprocess until its model call returns. LIFO, so the tensor taken is the one whose
    pages are warm."""

    def __init__(self, height: int, width: int, dtype=np.float32, layout: str = "nchw") -> None:
        self._size = (height, width)
        self._dtype = dtype
        self._nhwc = layout == "nhwc"
        self._free: Dict[int, List[np.ndarray]] = {}
        self._lock = threading.Lock()
        self.allocated = 0  # tensors created so far (the pool's high-water mark)

    def take(self, channels: int) -> np.ndarray:
        with self._lock:
            free = self._free.get(channels)
            if free:
                return free.pop()
            self.allocated += 1
        shape = (1,) + self._size + (channels,) if self._nhwc else (1, channels) + self._size
        return np.empty(shape, dtype=self._dtype)

    def give(self, tensor: np.ndarray) -> None:
        with self._lock:
            free = self._free.setdefault(tensor.shape[3 if self._nhwc else 1], [])
            if len(free) < _KEPT_TENSORS:
                free.append(tensor)


def _imgsz(value) -> Tuple[int, int]:
    if isinstance(value, bool):
        raise TypeError("imgsz must be an int or (height, width), got %r" % (value,))
    try:
        return shape_pair(value)
    except ValueError as exc:
        raise ValueError(str(exc).replace("new_shape", "imgsz")) from None


def _threads(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError("threads must be an integer >= 1, got %r" % (value,))
    if value < 1:
        raise ValueError("threads must be an integer >= 1, got %r" % (value,))
    return int(value)


def _check_options(format: str, options: Dict[str, Any]) -> None:
    """Refuse unknown options, and check the values by running postprocess once on an
    empty output of the right layout (the same checks and messages as every frame's)."""
    unknown = sorted(set(options) - set(POSTPROCESS_OPTIONS))
    if unknown:
        extra = " (the pipeline passes each frame's own letterbox)" if "letterbox" in unknown else ""
        raise TypeError("Pipeline got unknown option%s %s%s; valid: %s"
                        % ("s" if len(unknown) > 1 else "", ", ".join(unknown), extra,
                           ", ".join(PREPROCESS_OPTIONS + POSTPROCESS_OPTIONS)))
    nc = options.get("nc")
    if nc is not None:
        if isinstance(nc, bool) or not isinstance(nc, (int, np.integer)):
            raise TypeError("nc must be an integer, got %r" % (nc,))
        if nc < 1:
            raise ValueError("nc must be >= 1, got %r" % (nc,))
        classes = int(nc)
    else:
        classes = 1
        ids = np.asarray(options.get("classes", []))
        if ids.dtype.kind in "iu" and ids.size:  # anything else: postprocess says why
            classes = max(1, int(ids.max()) + 1)
    side = (5 if format == "yolov5" else 4) + classes + 1  # square: either anchor axis fits
    postprocess(np.zeros((1, side, side), dtype=np.float32), format, **options)


class Pipeline:
    """Detections for a stream of frames: preprocess, ``infer`` and postprocess, with the
    input tensors owned (and reused) by the pipeline.

    ``pipe(frame)`` runs one frame in the calling thread; ``pipe.map(frames, threads=N)``
    yields the detections of each frame, in frame order, while ``N`` worker threads
    overlap one frame's model call with the pre- and postprocessing of its neighbours.

    Args:
        infer: the model call, ``infer(tensor) -> output``: ``tensor`` is a float32
            (1, C, H, W) array (RGB, /255, letterboxed with 114; ``dtype``, ``layout``
            and ``quant`` change that, as for ``preprocess``) and ``output`` what
            ``postprocess`` takes for one image, e.g.
            ``lambda x: session.run(None, {"images": x})[0]`` with an onnxruntime
            session. It must not keep ``tensor`` after returning (the pipeline writes the
            next frame into it), and with ``map(threads > 1)`` it is called from several
            threads at once (onnxruntime's ``run`` allows that; for a runtime that does
            not, use ``threads=1`` or a lock). Its output must stay unchanged until
            postprocessed: a runtime that returns a view of a buffer it reuses needs
            ``.copy()``.
        imgsz: the model's input size, an int or (height, width).
        format: ``"yolov8"``, ``"yolo11"`` or ``"yolov5"``, as for ``postprocess``.
        **postprocess_options: ``dtype``, ``layout`` and ``quant``, the input tensor's
            as ``preprocess`` takes them (e.g. ``dtype=np.uint8, layout="nhwc"`` for a
            model taking the letterboxed pixels, or ``dtype=np.int8, quant=(1 / 255,
            -128)``); and every keyword option of ``postprocess`` but
            ``letterbox`` (``conf_threshold``, ``iou_threshold``, ``classes``,
            ``max_det``, ``nc``, ...), passed on for every frame; ``backend`` applies
            to the preprocessing too.

    Every argument is checked here (the options by running ``postprocess`` once on an
    empty output): a ``TypeError`` or ``ValueError`` names the bad one.
    """

    def __init__(self, infer: Callable[[np.ndarray], ArrayLike],
                 imgsz: Union[int, Tuple[int, int]] = 640, format: str = "yolov8",
                 **postprocess_options: Any) -> None:
        if not callable(infer):
            raise TypeError("infer must be callable (infer(tensor) -> output), got %s"
                            % (type(infer).__name__,))
        self._size = _imgsz(imgsz)
        self._format = check.choice(format, "format", FORMATS)
        options = dict(postprocess_options)
        self._tensor = {name: options.pop(name) for name in PREPROCESS_OPTIONS if name in options}
        _check_options(self._format, options)
        self._backend: Optional[str] = options.get("backend")
        tensor = _tensor_params(3, True, None, None, self._tensor.get("dtype", np.float32),
                                self._tensor.get("layout", "nchw"), self._tensor.get("quant"))
        self._infer = infer
        self._options = options
        self._tensors = _TensorPool(*self._size, dtype=tensor.dtype, layout=tensor.layout)

    @property
    def imgsz(self) -> Tuple[int, int]:
        """The model input (height, width)."""
        return self._size

    @property
    def format(self) -> str:
        return self._format

    @property
    def tensors_allocated(self) -> int:
        """How many input tensors the pipeline has allocated: at most the number of
        frames that were ever in preprocess or ``infer`` at once."""
        return self._tensors.allocated

    def __repr__(self) -> str:
        return "Pipeline(%r, imgsz=%r, format=%r%s)" % (
            self._infer, self._size, self._format,
            "".join(", %s=%r" % item for item in {**self._tensor, **self._options}.items()))

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The detections of one frame, (K, 6 + E) in frame pixels (x1, y1, x2, y2,
        score, class, extras), as ``postprocess(infer(preprocess(frame)[0]),
        letterbox=info)[0]``."""
        return self._run(frame)

    def map(self, frames: Iterable[np.ndarray], threads: int = 2) -> Iterator[np.ndarray]:
        """Yield the detections of each frame, in order, computed on ``threads`` threads.

        Frames are read ahead (up to ``2 * threads`` of them), so each frame array must
        stay unchanged until its detections come out (do not refill one array in place).
        An exception from ``infer``, preprocessing or postprocessing is raised here at
        that frame, after the detections of every earlier frame; one raised by the
        ``frames`` iterator, after the detections of the frames it gave. Leaving the
        loop early (``break``, an exception, closing the generator) stops the workers:
        the frames in flight finish, no thread is left behind. On PyPy, which has no
        reference counting, a generator left by ``break`` is closed by the next garbage
        collection, not at once: ``with contextlib.closing(pipe.map(...)) as results:``
        stops the workers at the end of the block on every interpreter. Arguments are checked
        when ``map`` is called, not at the first frame. A backend chosen with
        ``accel.use_backend()`` around the ``map`` call applies in the worker threads.
        """
        threads = _threads(threads)
        try:
            iterator = iter(frames)
        except TypeError:
            raise TypeError("frames must be an iterable of images, got %s"
                            % (type(frames).__name__,)) from None
        return self._map(iterator, threads, contextvars.copy_context())

    def _run(self, frame: np.ndarray) -> np.ndarray:
        # Checked first, so that a refused frame takes no tensor; preprocess then gets the
        # checked (contiguous) image and copies nothing again.
        image = check.image_array(frame)[0]
        tensor = self._tensors.take(image.shape[2])
        try:
            _, info = preprocess(image, self._size, out=tensor, backend=self._backend,
                                 **self._tensor)
            output = self._infer(tensor)
        finally:
            self._tensors.give(tensor)
        return self._detections(output, info)

    def _detections(self, output, info: LetterboxInfo) -> np.ndarray:
        results = postprocess(output, self._format, letterbox=info, **self._options)
        if len(results) != 1:
            raise ValueError("infer returned a batch of %d outputs for one frame"
                             % (len(results),))
        return results[0]

    def _map(self, frames: Iterator[np.ndarray], threads: int,
             context: contextvars.Context) -> Iterator[np.ndarray]:
        from concurrent.futures import ThreadPoolExecutor  # loaded by the first map()

        pending: Deque[Future] = collections.deque()
        failure: Optional[Exception] = None
        exhausted = False
        workers = ThreadPoolExecutor(threads, thread_name_prefix=_WORKER_PREFIX)
        try:
            while True:
                while not exhausted and len(pending) < 2 * threads:
                    try:
                        frame = next(frames)
                    except StopIteration:
                        exhausted = True
                    except Exception as exc:  # raised after the frames before it
                        failure, exhausted = exc, True
                    else:
                        pending.append(workers.submit(context.copy().run, self._run, frame))
                if not pending:
                    break
                yield pending.popleft().result()
            if failure is not None:
                raise failure
        finally:
            # A map dropped unfinished is closed by the garbage collector, which under PyPy
            # may run in one of these very workers; a thread cannot wait for itself ("cannot
            # join current thread"), and the others end after their current frame anyway.
            inside = threading.current_thread().name.startswith(_WORKER_PREFIX)
            workers.shutdown(wait=not inside, cancel_futures=True)
