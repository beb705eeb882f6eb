"""Progress and tables for the compare tool: tqdm and tabulate when installed (they are
dependencies of accel), plain fallbacks otherwise, so a run never stops for their lack."""
import sys
from typing import Any, Sequence


class _PlainProgress:
    """The part of tqdm's interface the tool uses: one status line on a terminal."""

    def __init__(self, total: int, disable: bool):
        self.total, self.count, self.description = total, 0, ""
        self.shown = not disable and sys.stderr.isatty()

    def set_description(self, text: str) -> None:
        self.description = text

    def update(self, count: int = 1) -> None:
        self.count += count
        if self.shown:
            sys.stderr.write("\r%d/%d %s\033[K" % (self.count, self.total, self.description))
            sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def progress(total: int, disable: bool):
    if disable:
        return _PlainProgress(total, True)
    try:
        from tqdm import tqdm  # type: ignore
    except ImportError:
        return _PlainProgress(total, False)
    return tqdm(total=total, file=sys.stderr, unit="cell")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], markdown: bool) -> str:
    try:
        from tabulate import tabulate  # type: ignore
    except ImportError:
        return _plain_table(rows, headers, markdown)
    return tabulate(rows, headers=headers, tablefmt="github" if markdown else "simple")


def _plain_table(rows, headers, markdown: bool) -> str:
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        padded = [value.ljust(width) for value, width in zip(row, widths)]
        return "| %s |" % " | ".join(padded) if markdown else "  ".join(padded).rstrip()

    rule = ("|%s|" % "|".join("-" * (w + 2) for w in widths) if markdown
            else "  ".join("-" * w for w in widths))
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])
