"""The SpiffWorkflow adapter alone: state without spec round-trips and is smaller than Spiff's own JSON."""

from pathlib import Path

import pytest

from app.engine import serialization
from app.engine.parsing import SourceFile, parse_files
from app.engine.runtime import WorkflowEngine
from app.errors import Conflict, ScriptError
from tests import diagrams

REFERENCE = Path(__file__).resolve().parent.parent / "workflows" / "bpmn" / "reference_procedure.bpmn"


def _model(content: bytes, name: str = "d.bpmn"):
    return parse_files([SourceFile(name, content)])[0].processes[0]


def test_state_round_trip_is_exact_and_small():
    model = serialization.load_model(serialization.dump_model(_model(REFERENCE.read_bytes())))
    engine = WorkflowEngine()
    workflow = engine.start(model, {"applicant": "Trần Thị Bình"})
    ratios = []
    for _ in range(3):
        state = engine.dump(workflow)
        full = serialization.full_spiff_json(workflow)
        ratios.append(len(state) / len(full))
        reloaded = engine.load(model, state)
        assert engine.dump(reloaded) == state
        ready = engine.snapshot(model, reloaded).ready_tasks
        engine.complete_task(reloaded, ready[0].id, {"approved": True})
        workflow = reloaded
    assert max(ratios) < 0.5, ratios


def test_completing_a_task_that_is_not_ready_is_a_conflict():
    model = _model(diagrams.linear("x", tasks=("a", "b")))
    engine = WorkflowEngine()
    workflow = engine.start(model)
    first = engine.snapshot(model, workflow).ready_tasks[0]
    engine.complete_task(workflow, first.id, {})
    with pytest.raises(Conflict):
        engine.complete_task(workflow, first.id, {})
    with pytest.raises(Conflict):
        engine.complete_task(workflow, "not-a-uuid", {})


def test_condition_errors_name_the_element():
    model = _model(diagrams.with_condition("cond", "undefined_name > 3"))
    engine = WorkflowEngine()
    workflow = engine.start(model)
    task = engine.snapshot(model, workflow).ready_tasks[0]
    with pytest.raises(ScriptError) as caught:
        engine.complete_task(workflow, task.id, {})
    assert caught.value.element_id in {"gw", "yes"}


def test_a_runaway_loop_is_refused_instead_of_silently_completing():
    """SpiffWorkflow hides tasks deeper than 1000 and then calls the instance completed."""
    loop = diagrams.HEADER.format(key="loop") + '''<bpmn:process id="loop" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="tick"><bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="gw" default="back"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tick"/>
<bpmn:sequenceFlow id="f2" sourceRef="tick" targetRef="gw"/>
<bpmn:sequenceFlow id="back" sourceRef="gw" targetRef="tick"/>
<bpmn:sequenceFlow id="out" sourceRef="gw" targetRef="end">
<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">n &lt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>
</bpmn:process></bpmn:definitions>'''
    model = _model(loop.encode())
    with pytest.raises(ScriptError) as caught:
        # a generous time limit: on a loaded machine 1,000 rounds can outlast the default 1 s, and this test
        # is about the depth guard, not the time limit
        WorkflowEngine(script_timeout_seconds=60).start(model, {"n": 0})
    assert caught.value.code == "loop_too_deep" and caught.value.element_id in {"tick", "gw"}
