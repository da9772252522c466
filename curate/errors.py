"""Errors of the curation stage and the skip-reason vocabulary of its reports."""

from __future__ import annotations


class CurationError(Exception):
    """A problem that stops a curation: wrong layout, unusable output folder, full disk."""


class BadInput(Exception):
    """One frame or object that cannot be curated; reported and skipped, never fatal."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# Skip reasons written to skipped.jsonl and counted in the summary.
XML_MALFORMED = "xml_malformed"  # unreadable, empty or not an ILSVRC <annotation>
OBJECT_MALFORMED = "object_malformed"  # <object> lacks a field, or a value is not a (finite, whole) number
CLASS_UNKNOWN = "class_unknown"  # <name> is not one of the 30 VID WordNet ids
DUPLICATE_TRACK = "duplicate_track"  # the same trackid twice in one frame
BOX_EMPTY = "box_empty"  # zero or negative width or height
BOX_OUTSIDE_FRAME = "box_outside_frame"  # box reaches more than one pixel beyond the frame
FRAME_MISSING = "frame_missing"  # the JPEG named by the XML does not exist
FRAME_CORRUPT = "frame_corrupt"  # the JPEG is truncated or does not decode
SIZE_MISMATCH = "size_mismatch"  # the JPEG's size differs from the XML's <size>
NOT_A_FRAME = "not_a_frame"  # a file in a snippet folder that is not a <number>.xml frame annotation
