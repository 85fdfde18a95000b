// The supervisor protocol (SupervisorService and its messages), for writing a
// supervisor of your own: "horus-api/supervisor".
export * from "../../../gen/horus/coordinator/v1/supervisor_pb.js";
