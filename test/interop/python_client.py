"""A Python gRPC client of the coordinator, as a Python user writes one:
stubs generated from proto/ with protoc and grpc_python_plugin, grpcio for
the channel. Submits the definition read from stdin with {"n": 20} as
inputs, watches the workflow to its end, and prints one JSON line: where
grpc was imported from, the states seen, the final state and the outputs.

Usage: PYTHONPATH=<generated stubs> python3 python_client.py HOST:PORT < workflow.yaml
"""
import json
import sys

import grpc
from google.protobuf import json_format, struct_pb2

from horus.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc, workflow_pb2

TERMINAL = {
    workflow_pb2.WORKFLOW_STATE_SUCCEEDED,
    workflow_pb2.WORKFLOW_STATE_FAILED,
    workflow_pb2.WORKFLOW_STATE_CANCELLED,
}


def main() -> None:
    target = sys.argv[1]
    definition = sys.stdin.read()
    with grpc.insecure_channel(target) as channel:
        stub = coordinator_pb2_grpc.CoordinatorServiceStub(channel)
        submitted = stub.SubmitWorkflow(
            coordinator_pb2.SubmitWorkflowRequest(yaml=definition, inputs={"n": struct_pb2.Value(number_value=20)}),
            timeout=30,
        )
        states = []
        for message in stub.WatchWorkflow(coordinator_pb2.WatchWorkflowRequest(workflow_id=submitted.workflow_id), timeout=60):
            kind = message.WhichOneof("kind")
            if kind == "snapshot":
                state = message.snapshot.state
            elif message.event.WhichOneof("kind") == "workflow":
                state = message.event.workflow.state
            else:
                continue
            states.append(workflow_pb2.WorkflowState.Name(state))
            if state in TERMINAL:
                break
        workflow = stub.GetWorkflow(coordinator_pb2.GetWorkflowRequest(workflow_id=submitted.workflow_id), timeout=30).workflow
        unknown = channel.unary_unary("/horus.coordinator.v1.CoordinatorService/NoSuchMethod")
        try:
            unknown(b"", timeout=30)
            unknown_status = "OK"
        except grpc.RpcError as err:
            unknown_status = err.code().name
        invalid_status = "OK"
        try:
            stub.GetWorkflow(coordinator_pb2.GetWorkflowRequest(workflow_id=""), timeout=30)
        except grpc.RpcError as err:
            invalid_status = err.code().name
    print(json.dumps({
        "grpc_module": grpc.__file__,
        "workflow_id": submitted.workflow_id,
        "states": states,
        "state": workflow_pb2.WorkflowState.Name(workflow.state),
        "outputs": {step.id: json_format.MessageToDict(step.output) for step in workflow.steps},
        "unknown_method": unknown_status,
        "invalid_argument": invalid_status,
    }))


if __name__ == "__main__":
    main()
