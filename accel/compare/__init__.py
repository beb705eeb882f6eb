"""The comparison tool: measure every kernel on every backend (and peer) on this machine.

Tooling, not runtime: ``import accel`` never imports this package; ``python -m
accel.compare`` and ``accel.tune()`` do. Modules, one job each:

- ``cli``: the command line (``python -m accel.compare --help``), the run and its report;
- ``workloads``: realistic inputs per kernel and size (clustered candidates, detector
  outputs, camera frames);
- ``peers``: the libraries a user would otherwise call (OpenCV, torchvision, onnxruntime,
  a NumPy pipeline), adapted to accel's result format;
- ``timing``: repeated timing within a budget, thread throughput;
- ``tuning``: writing the tuning profile that ``accel._profile`` reads.
"""
