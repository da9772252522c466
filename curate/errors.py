"""What counts as the user's mistake, the errors of the curation stage and the skip-reason vocabulary of its reports.

The CLI prints one line for the errors a user can act on (:data:`USER_ERRORS`: :class:`UserError`,
:class:`CurationError` and its :class:`~siamfc.curate.shards.ShardError`, any ``OSError``) and a traceback for
anything else, which is a bug of the package.
"""

from __future__ import annotations


class UserError(ValueError):
    """Something the user can fix: a bad option, path or input file, named with the problem in one line.

    Raised by the checks of options (a config's ``__post_init__``, the CLI's option checks), of paths and of input
    files (a checkpoint that is not one, a report that is not ours). A ``ValueError``, so that code and tests that
    expect one keep working; a plain ``ValueError`` raised inside the package is a bug, not the user's mistake."""


class CurationError(Exception):
    """A problem that stops a curation: wrong layout, unusable output folder, full disk, a damaged shard.

    Also the user's to act on (the CLI prints it as one line), but not a :class:`UserError`: it is no
    ``ValueError``, so the package's many ``except ValueError`` handlers (written for a value that does not parse)
    never swallow a wrong layout or a damaged shard raised inside them."""


class BadInput(Exception):
    """One frame or object that cannot be curated; reported and skipped, never fatal."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple:  # a worker's result may carry one across processes
        return BadInput, (self.reason, self.detail)


USER_ERRORS: tuple[type[BaseException], ...] = (UserError, CurationError, OSError)  # one line at the CLI, no traceback


# Skip reasons written to skipped.jsonl and counted in the summary.
XML_MALFORMED = "xml_malformed"  # unreadable, empty or not an ILSVRC <annotation> (also a broken COCO JSON entry)
OBJECT_MALFORMED = "object_malformed"  # <object> lacks a field, or a value is not a (finite, whole) number
CLASS_UNKNOWN = "class_unknown"  # a class the dataset does not have (VID: not one of its 30 WordNet ids)
DUPLICATE_TRACK = "duplicate_track"  # the same trackid twice in one frame
BOX_EMPTY = "box_empty"  # zero or negative width or height
BOX_OUTSIDE_FRAME = "box_outside_frame"  # box reaches more than one pixel beyond the frame
FRAME_MISSING = "frame_missing"  # the JPEG named by the XML does not exist
FRAME_CORRUPT = "frame_corrupt"  # the JPEG is truncated or does not decode
SIZE_MISMATCH = "size_mismatch"  # the JPEG's size differs from the XML's <size>
NOT_A_FRAME = "not_a_frame"  # a file in a snippet folder that is not a <number>.xml frame annotation
# Text annotations (GOT-10k, LaSOT, TrackingNet); each detail names the file and, where there is one, the line.
GT_LINE_COUNT = "gt_line_count"  # a ground-truth file with fewer or more lines than the sequence has frames
BOX_MALFORMED = "box_malformed"  # a ground-truth line that is not 4 finite numbers (empty, NaN, text)
LABEL_MISSING = "label_missing"  # a per-frame label file the dataset always has is missing: the sequence is skipped
LABEL_MALFORMED = "label_malformed"  # a label file whose values or value count are not what the dataset writes
