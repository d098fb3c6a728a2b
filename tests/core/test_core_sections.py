"""Typed report sections: one conversion for every renderer, and frozen reader headers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from modelsize.core.sections import Section, section_data, section_items


class Profile:
    def to_dict(self) -> dict:
        return {"macs": np.int64(7), "shape": (1, 3)}


def test_section_objects_and_plain_data_give_the_same_json_ready_view() -> None:
    assert isinstance(Profile(), Section) and not isinstance({"a": 1}, Section)
    assert section_data(Profile()) == {"macs": 7, "shape": [1, 3]}
    assert type(section_data(Profile())["macs"]) is int
    assert section_data({"nested": [Profile()]}) == {"nested": [{"macs": 7, "shape": [1, 3]}]}
    assert section_items(None) == [] and section_items(Profile()) == [{"macs": 7, "shape": [1, 3]}]
    assert section_items([{"format": "pickle", "bytes": 10}]) == [{"format": "pickle", "bytes": 10}]
    with pytest.raises(TypeError, match="holds mappings or objects with to_dict"):
        section_items([3])


def test_report_json_uses_the_section_protocol(tiny_report) -> None:
    report = tiny_report.with_section("compute", Profile())
    assert report.to_dict()["sections"]["compute"] == {"macs": 7, "shape": [1, 3]}


@pytest.fixture()
def tiny_report():
    from modelsize.core.report import Report, Source
    from modelsize.core.tree import Component

    return Report(root=Component(name="m", kind="M", path=""), source=Source(framework="test", object_type="M"))


def test_reader_headers_are_frozen() -> None:
    from modelsize.formats._common import FileLayout
    from modelsize.formats.gguf_file import TensorInfo, ggml_types

    layout = FileLayout("a.bin", 10, {"tensor_data": 8})
    info = TensorInfo("w", (4,), ggml_types()[0], 0, 16)
    for obj, name in ((layout, "bytes"), (info, "nbytes")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, 0)
