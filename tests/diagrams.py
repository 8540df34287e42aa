"""Small BPMN documents built in code for tests, in the shape bpmn.io / Camunda Modeler writes."""

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_{key}" '
          'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def linear(key: str = "linear", tasks: tuple[str, ...] = ("a", "b"), name: str = "Quy trình thử",
           groups: str = "clerk") -> bytes:
    """start -> user tasks in a row -> end."""
    nodes = ['<bpmn:startEvent id="start"/>']
    flows = []
    previous = "start"
    for i, task in enumerate(tasks):
        nodes.append(f'<bpmn:userTask id="{task}" name="Bước {task}" camunda:candidateGroups="{groups}"/>')
        flows.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{previous}" targetRef="{task}"/>')
        previous = task
    nodes.append('<bpmn:endEvent id="end"/>')
    flows.append(f'<bpmn:sequenceFlow id="fend" sourceRef="{previous}" targetRef="end"/>')
    body = "\n".join(nodes + flows)
    return (HEADER.format(key=key) + f'<bpmn:process id="{key}" name="{name}" isExecutable="true">\n{body}\n'
            '</bpmn:process>\n</bpmn:definitions>\n').encode()


def with_condition(key: str, condition: str) -> bytes:
    """start -> task -> gateway(condition | default) -> end_yes / end_no."""
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="decide" name="Quyết định"/>
<bpmn:exclusiveGateway id="gw" default="no"/>
<bpmn:endEvent id="end_yes"/>
<bpmn:endEvent id="end_no"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
<bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="gw"/>
<bpmn:sequenceFlow id="yes" sourceRef="gw" targetRef="end_yes">
  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"><![CDATA[{condition}]]></bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="no" sourceRef="gw" targetRef="end_no"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def with_script(key: str, script: str) -> bytes:
    """start -> script task -> user task -> end."""
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="calc" name="Tính" scriptFormat="python"><bpmn:script><![CDATA[{script}]]></bpmn:script>
</bpmn:scriptTask>
<bpmn:userTask id="check" name="Kiểm tra"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="check"/>
<bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def with_message(key: str = "waits_message", message: str = "ket_qua") -> bytes:
    """start -> message catch -> user task -> end."""
    return (HEADER.format(key=key) + f'''<bpmn:message id="Msg" name="{message}"/>
<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:intermediateCatchEvent id="wait_msg" name="Chờ kết quả"><bpmn:messageEventDefinition messageRef="Msg"/>
</bpmn:intermediateCatchEvent>
<bpmn:userTask id="after" name="Sau khi có kết quả"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_msg"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait_msg" targetRef="after"/>
<bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def with_timer(key: str = "waits_timer", duration: str = "PT2H") -> bytes:
    return (HEADER.format(key=key) + f'''<bpmn:process id="{key}" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:intermediateCatchEvent id="wait_timer"><bpmn:timerEventDefinition>
<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{duration}</bpmn:timeDuration>
</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_timer"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait_timer" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
''').encode()
