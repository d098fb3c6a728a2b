"""Input specs: parsing, several inputs, keyword names, token inputs, and our errors."""

from __future__ import annotations

import pytest

from modelsize.compute.inputs import InputSpec, TensorSpec, resolve, token_inputs
from modelsize.testing import check_bad_input


def test_parse_shape_dtype_and_name() -> None:
    assert TensorSpec.parse("1x3x224x224") == TensorSpec((1, 3, 224, 224), None, None)
    assert TensorSpec.parse("1x128:int64") == TensorSpec((1, 128), "int64", None)
    assert TensorSpec.parse(" input_ids = 2 X 16 : long ") == TensorSpec((2, 16), "int64", "input_ids")
    assert TensorSpec.parse("4×8:bf16").dtype == "bfloat16"
    assert TensorSpec.parse("1x128:int64").nbytes == 128 * 8


@pytest.mark.parametrize("bad", ["", "x3", "1x0", "1x3:complex128", "3=1x2", "1,2", "1x2:"])
def test_bad_specs_raise_our_error(bad: str) -> None:
    err = check_bad_input(lambda: TensorSpec.parse(bad))
    assert str(err).startswith("The 'input' option must be")


def test_several_inputs_keep_order_and_names() -> None:
    spec, real = resolve(["2x4", "mask=2x4:bool", "2x1:int32"])
    assert real is None
    assert [t.name for t in spec.tensors] == [None, "mask", None]
    assert spec.with_default_float("float16").tensors[0].dtype == "float16"
    assert spec.nbytes == 2 * 4 * 4 + 2 * 4 * 1 + 2 * 4
    spec, _ = resolve({"input_ids": "1x7:int64"})
    assert spec.tensors == (TensorSpec((1, 7), "int64", "input_ids"),) and spec.tokens == 7
    check_bad_input(lambda: resolve(["a=1x2", "a=1x3"]))
    check_bad_input(lambda: resolve([]))
    check_bad_input(lambda: resolve(3))


def test_token_inputs() -> None:
    spec = token_inputs(4096, batch=2)
    assert spec == InputSpec((TensorSpec((2, 4096), "int64", "input_ids"),), tokens=8192)
    check_bad_input(lambda: token_inputs(0))
    check_bad_input(lambda: token_inputs(8, batch=True))


def test_real_tensors_are_kept() -> None:
    torch = pytest.importorskip("torch")
    x = torch.ones(2, 3, dtype=torch.float64)
    spec, real = resolve(x)
    assert spec.tensors == (TensorSpec((2, 3), "float64", None),)
    assert real[0][0] is x and real[1] == {}


_INTERNAL_REPRS = ("InputSpec(", "TensorSpec(")


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        (token_inputs(8), "'input_ids=1x8:int64'"),
        ([TensorSpec((1, 3))], "'1x3'"),
        ({"x": token_inputs(3)}, "{'x': 'input_ids=1x3:int64'}"),
    ],
)
def test_errors_show_specs_as_the_user_writes_them(tmp_path, bad: object, shown: str) -> None:
    """Inputs given with a file (read, never run): the message shows '1x3', not a dataclass repr."""
    import modelsize

    torch = pytest.importorskip("torch")
    path = tmp_path / "lin.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    err = check_bad_input(lambda: modelsize.inspect(str(path), inputs=bad, formats=False))
    assert not any(r in str(err) for r in _INTERNAL_REPRS), str(err)
    assert str(err).endswith(f"Got {shown}.")


def test_a_spec_object_inside_a_list_is_shown_as_text() -> None:
    err = check_bad_input(lambda: resolve([token_inputs(4)]))
    assert not any(r in str(err) for r in _INTERNAL_REPRS), str(err)
    assert str(err).endswith("Got 'input_ids=1x4:int64'.")
    assert InputSpec((TensorSpec((2, 3), "float16"), TensorSpec((2,), "bool", "mask"))).user_text() == "2x3:float16, mask=2:bool"
