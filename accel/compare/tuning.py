"""Writing tuning profiles: from a comparison's results to the file ``accel._profile`` reads."""
import json
import os
from typing import Dict, List, Optional, Tuple

from .. import _profile


def from_results(results: List[dict]) -> Dict[str, List[dict]]:
    """Pick, per (kernel, size), the fastest backend whose answer agreed with the reference.
    Variant rows (quantized, NHWC inputs) are not used: a profile is per kernel and size."""
    kernels: Dict[str, List[dict]] = {}
    cells: Dict[Tuple[str, int], List[dict]] = {}
    for row in results:
        if row.get("variant"):
            continue
        cells.setdefault((row["kernel"], row["size"]), []).append(row)
    for (kernel, size), rows in sorted(cells.items()):
        good = [r for r in rows if r["agrees"] and not r.get("peer")]  # peers are not backends
        if not good:
            continue
        best = min(good, key=lambda r: r["median_s"])
        kernels.setdefault(kernel, []).append({
            "size": size,
            "backend": best["backend"],
            "median_s": {r["backend"]: r["median_s"] for r in rows},
            "agrees": {r["backend"]: r["agrees"] for r in rows},
        })
    return kernels


def save(results: List[dict], path: Optional[str] = None) -> str:
    path = path or _profile.default_path()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    document = {
        "format": _profile.FORMAT,
        "identity": _profile.identity(),
        "build": _profile.build_fingerprint(),
        "kernels": from_results(results),
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(document, fh, indent=1)
    os.replace(tmp, path)  # a reader never sees half a profile
    return path
