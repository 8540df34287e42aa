"""Engine cost of the timer work, without a database: `python -m bench.timer_gateways [--instances N]`.

- reference: the reference path (5 tasks, 1 message) through WorkflowEngine: what every command pays, so the
  per-waiting-event branch expansion of snapshots must not show here;
- gateway message / gateway timer: start an instance waiting at an event-based gateway (message | timer), then
  deliver the message or fire the timer; each round is start + act + snapshot + dump.
Wall and CPU (process time) per step; the machine is shared, so read the load average printed with them.
"""

import argparse
import os
import time
from collections.abc import Callable

from app.engine.parsing import SourceFile, parse_files
from app.engine.runtime import WorkflowEngine
from bench.common import PATH, reference_model
from bench.engine import EngineLayer

GATEWAY = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:message id="Msg" name="ket_qua"/>
<bpmn:process id="bench_gateway" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="gw"/>
<bpmn:intermediateCatchEvent id="got_result"><bpmn:messageEventDefinition messageRef="Msg"/>
</bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="too_late"><bpmn:timerEventDefinition>
<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P2D</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:userTask id="after_message"/><bpmn:userTask id="after_timer"/><bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw"/>
<bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="got_result"/>
<bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="too_late"/>
<bpmn:sequenceFlow id="f4" sourceRef="got_result" targetRef="after_message"/>
<bpmn:sequenceFlow id="f5" sourceRef="too_late" targetRef="after_timer"/>
<bpmn:sequenceFlow id="f6" sourceRef="after_message" targetRef="end"/>
<bpmn:sequenceFlow id="f7" sourceRef="after_timer" targetRef="end"/>
</bpmn:process></bpmn:definitions>
'''


def timed(label: str, rounds: int, steps_per_round: int, run: Callable[[], None]) -> str:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    steps = rounds * steps_per_round
    return (f"{label:<16} {steps:>6} steps  wall {1000 * wall / steps:7.3f} ms/step  "
            f"cpu {1000 * cpu / steps:7.3f} ms/step")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.timer_gateways", description=__doc__)
    parser.add_argument("--instances", type=int, default=200)
    args = parser.parse_args(argv)
    engine = WorkflowEngine()
    reference = EngineLayer(reference_model(), engine)
    [gateway] = parse_files([SourceFile("g.bpmn", GATEWAY)])[0].processes

    def reference_path() -> None:
        handle = reference.start(1)[0]
        for step in PATH:
            handle = reference.complete(handle, step) if step.kind == "task" else reference.deliver(handle, step)

    def gateway_round(act: Callable) -> Callable[[], None]:
        def run() -> None:
            workflow = engine.start(gateway, {})
            engine.snapshot(gateway, workflow)
            workflow = engine.load(gateway, engine.dump(workflow))
            if not act(workflow):
                raise RuntimeError("the gateway did not take the branch")
            engine.snapshot(gateway, workflow)
            engine.dump(workflow)
        return run

    for _ in range(2):  # warm-up, then measured
        lines = [
            timed("reference", args.instances, len(PATH) + 1, reference_path),
            timed("gateway message", args.instances, 2,
                  gateway_round(lambda w: engine.deliver_message(w, "ket_qua", {"x": 1}))),
            timed("gateway timer", args.instances, 2, gateway_round(lambda w: engine.fire_timers(w, "too_late"))),
        ]
    print("\n".join(lines))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
