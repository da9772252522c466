"""Every field of every config dataclass is type-checked on construction (``curate/config_checks.py``):
a value of the wrong type is refused in one line naming the field, before any range check could trip over it."""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path

import pytest

from siamfc.curate.run import CurationConfig, CurationSummary, usable_cores
from siamfc.curate.schema import CurationSettings
from siamfc.model.tracker_config import TrackerConfig
from siamfc.pipeline.sampler_config import SamplerConfig

REQUIRED = {CurationConfig: {"source": "/data/src", "out": "/data/out"}}  # fields without a default
CONFIGS = (SamplerConfig, CurationConfig, CurationSettings, TrackerConfig)  # TrainConfig: tests/test_option_checks
# a value of another type for each kind of annotation: 2.0 is a float, True is no integer, 1 is no bool
WRONG = {int: (2.0, True, "3"), float: ("0.5", True, None), bool: (1, "yes"), str: (3, None), Path: (3, None),
         tuple: (["train"], "train", (1,)), "dataclass": ({}, None)}


def _wrong_values(hint: typing.Any) -> tuple:
    """Values of annotation ``hint``'s wrong types (for ``X | None``: X's, None excepted)."""
    args = typing.get_args(hint)
    if type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return tuple(v for v in _wrong_values(inner) if v is not None)
    if typing.get_origin(hint) is tuple:
        return WRONG[tuple]
    if dataclasses.is_dataclass(hint):
        return WRONG["dataclass"]
    return WRONG[hint]


def _cases() -> list:
    cases = []
    for cls in CONFIGS:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            cases += [pytest.param(cls, f.name, v, id=f"{cls.__name__}.{f.name}={v!r}")
                      for v in _wrong_values(hints[f.name])]
    return cases


@pytest.mark.parametrize(("cls", "name", "value"), _cases())
def test_a_wrong_typed_value_is_refused_in_one_line_naming_the_field(cls, name, value):
    with pytest.raises(ValueError) as err:
        cls(**{**REQUIRED.get(cls, {}), name: value})
    text = str(err.value)
    assert "\n" not in text and f"{name} must be " in text and text.endswith(f"got {value!r}"), text
    assert text.split(" must be ")[0] in (name, f"{cls.__name__}.{name}"), text  # the field, nothing else, first


def test_every_field_of_every_config_has_a_case():
    named = {(c.values[0], c.values[1]) for c in _cases()}
    for cls in CONFIGS:
        assert {f.name for f in dataclasses.fields(cls)} == {n for c, n in named if c is cls}


@pytest.mark.parametrize(("make", "says"), [
    (lambda: SamplerConfig(pairs_per_epoch=1.5), "SamplerConfig.pairs_per_epoch must be an integer, got 1.5"),
    (lambda: SamplerConfig(min_size=True), "SamplerConfig.min_size must be a number, got True"),
    (lambda: SamplerConfig(skip_occluded=0), "SamplerConfig.skip_occluded must be True or False, got 0"),
    (lambda: TrackerConfig(scales=3.0), "TrackerConfig.scales must be an integer, got 3.0"),
    (lambda: CurationSettings(classes=["dog"]), "classes must be a tuple of strings or None, got ['dog']"),
    (lambda: CurationSettings(max_reduction=True), "max_reduction must be an integer, got True"),
    (lambda: CurationConfig(source=None, out="o"), "source must be a path, got None"),
    (lambda: CurationConfig(source="s", out="o", settings={}), "settings must be a CurationSettings, got {}"),
    (lambda: CurationConfig(source="s", out="o", backend="ray"), "backend must be one of loky, dask, got 'ray'"),
])
def test_the_refusals_read_well(make, says):
    with pytest.raises(ValueError, match="^" + _literal(says) + "$"):
        make()


def _literal(text: str) -> str:
    import re
    return re.escape(text)


def test_values_of_the_right_types_pass_and_ranges_are_still_checked():
    assert SamplerConfig(min_size=10, radius=16).min_size == 10  # an int is a number
    config = CurationConfig(source=Path("s"), out="o", splits=("train",), max_snippets=3, workers=2)
    assert config.workers == 2 and config.settings == CurationSettings()
    assert TrackerConfig(scale_step=2).scale_step == 2
    with pytest.raises(ValueError, match=r"^SamplerConfig\.max_gap must be at least 1, got 0$"):
        SamplerConfig(max_gap=0)
    with pytest.raises(ValueError, match=r"^SamplerConfig\.flip must be a probability, got nan$"):
        SamplerConfig(flip=float("nan"))
    with pytest.raises(ValueError, match=r"^quality must be a whole number in 0\.\.100, got 101$"):
        CurationSettings(quality=101)
    with pytest.raises(ValueError, match=r"^workers must be at least 1, got 0$"):
        CurationConfig(source="s", out="o", workers=0)


def test_curation_workers_default_to_the_usable_cores():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cores() == cores
    assert CurationConfig(source="s", out="o").workers == cores
    assert CurationConfig(source="s", out="o", workers=None).workers == cores
    assert dataclasses.replace(CurationConfig(source="s", out="o"), workers=1).workers == 1
    lines = CurationSummary(workers=3, seconds=2.0, frames_per_second=50.0).lines()
    assert "time      2.0 s, 50.0 frames/s, 3 workers" in lines
    assert "time      2.0 s, 50.0 frames/s, 1 worker" in CurationSummary(workers=1, seconds=2.0,
                                                                          frames_per_second=50.0).lines()


def test_curate_help_names_the_workers_default():
    import argparse

    from siamfc.tools.cmd_curate import add_curation_options

    p = argparse.ArgumentParser()
    add_curation_options(p)
    assert p.parse_args([]).workers is None  # CurationConfig's default: the usable cores
    assert "cores this process may use" in " ".join(p.format_help().split())
