"""OpenVINO, a provider that compiles the subgraphs it takes: debug, compare (CPU against
OpenVINO) and profile on it, and what it refuses said in full.

onnxruntime-openvino replaces the ``onnxruntime`` package, so these run in an environment of
their own: ``scripts/test.sh`` builds it (``scripts/setup.sh openvino``: ``.venv-openvino``)
and runs ``pytest -m openvino`` there. In the main environment they are skipped, saying so.
"""

from __future__ import annotations

import onnxruntime as ort
import pytest
from helpers import LIGHT_MODELS

import workbench as wb
from workbench.errors import DebuggerError, DebuggerWarning, SessionError

OPENVINO = "OpenVINOExecutionProvider"
pytestmark = [
    pytest.mark.openvino,
    pytest.mark.skipif(OPENVINO not in ort.get_available_providers(),
                       reason="needs onnxruntime-openvino, which replaces onnxruntime: scripts/test.sh runs these in "
                              ".venv-openvino (scripts/setup.sh openvino)"),
]
DIMS = {"batch": 1, "sequence": 16}


@pytest.mark.parametrize("name", ["tiny_cnn", "tiny_bert"])
def test_openvino_agrees_with_the_cpu_value_by_value(name: str) -> None:
    model = wb.samples.open(name)
    inputs = wb.random_inputs(model, seed=1, dims=DIMS)
    debugger = wb.debug(model, inputs, provider="openvino")
    assert debugger.provider.startswith(OPENVINO)
    report = wb.compare(model, inputs, reference="cpu", candidate="openvino", rtol=1e-3, atol=1e-4)
    assert OPENVINO in report.candidate and len(report.table) == len(model.nodes)
    assert report.root_cause is None, report.summary()


@pytest.mark.parametrize("optimization", ["all", "disabled"])
def test_a_profile_maps_each_compiled_subgraph_to_the_nodes_it_covers(optimization: str) -> None:
    """No optimized graph can be saved (its compiled nodes are no ONNX), so the profile maps each
    compiled subgraph's kernel through onnxruntime's record of the nodes it was given."""
    model = wb.samples.open("tiny_bert")
    profile = wb.profile(model, wb.random_inputs(model, seed=1, dims=DIMS), provider="openvino",
                         optimization=optimization, runs=5, warmup=1)
    nodes = profile.nodes
    compiled = nodes[nodes["mapping"] == "compiled"]
    assert len(compiled) >= 1 and (compiled["provider"] == OPENVINO).all()
    assert profile.optimized is None
    assert profile.mapping_rate["time"] >= 0.95, profile.summary()
    covered = {n for ids in compiled["authored"] for n in ids}
    # at "disabled" onnxruntime hands every authored node over; at "all" it fuses a few first
    assert len(covered) >= (len(model.nodes) if optimization == "disabled" else 0.9 * len(model.nodes))
    assert profile.authored.sum() == pytest.approx(compiled["self_us"].sum(), rel=1e-6)
    assert not any("run asynchronously" in w for w in profile.warnings)  # its kernel's time is its work
    assert (profile.placement.loc[list(covered), "provider"] == OPENVINO).all()


def test_an_optimized_graph_of_a_compiling_provider_is_refused_with_what_to_do_instead() -> None:
    model = wb.samples.open("tiny_cnn")
    with pytest.raises(SessionError, match="contains compiled nodes.*no optimized graph to save or capture"):
        wb.compare(model, None, candidate=wb.Run(model, "openvino", optimization="all"))


def test_values_openvino_fuses_away_are_left_out_and_said_so() -> None:
    """squeezenet runs on OpenVINO, but with every value an output (as the debugger asks) its
    compiler refuses one it fuses away. The debugger finds which (halving the list), captures
    the others, warns, and says so where the value is asked for; compare lists it as unaligned;
    the profile (the model's own outputs only) runs as it is."""
    model = wb.open(next(p for p in LIGHT_MODELS if p.stem == "light_squeezenet"))
    inputs = wb.random_inputs(model, seed=1)
    with pytest.warns(DebuggerWarning, match=r"will not give 1 of the 106 values as outputs"):
        debugger = wb.debug(model, inputs, provider="openvino")
    assert len(debugger.unexposed) == 1 and "1 value(s) the provider does not give" in repr(debugger)
    with pytest.raises(DebuggerError, match="does not give .* as an output.*provider='cpu'"):
        debugger.tensor(debugger.unexposed[0])
    debugger.continue_()  # steps through every node, the one reading it included
    with pytest.warns(DebuggerWarning):
        report = wb.compare(model, inputs, reference="cpu", candidate="openvino", rtol=1e-3, atol=1e-4)
    assert report.root_cause is None and debugger.unexposed[0] in report.unaligned
    assert len(report.table) == 105
    profile = wb.profile(model, inputs, provider="openvino", runs=2, warmup=0)
    assert profile.mapping_rate["time"] >= 0.95


def test_the_words_of_a_refusal_are_kept_to_their_reason() -> None:
    """Where the provider refuses the graph's own outputs too, there is nothing to fall back on:
    its words keep the reason at their tail, and the fix says where else to run it."""
    model = wb.samples.open("control_flow")
    with pytest.raises(SessionError) as raised:
        wb.debug(model, provider="openvino")
    message = str(raised.value)
    assert "does not support the following ONNX operations" in message and "run it on the CPU provider" in message


def test_a_graph_openvino_cannot_compile_is_left_to_the_cpu() -> None:
    with pytest.raises(SessionError, match="cannot take this graph.*run it on the CPU provider"):
        wb.profile(wb.samples.open("control_flow"), provider="openvino", runs=1, warmup=0)
