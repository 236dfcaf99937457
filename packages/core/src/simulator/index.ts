export {
  BrownianPaths,
  BURST_DURATION_MS,
  BURST_RATE_HZ,
  DEFAULT_DRIFT,
  DRIFT_KNOBS,
  type DriftKnob,
  type DriftKnobInfo,
  type DriftOptions,
  NoiseBurstProcess,
  parseDrift,
  resolveDrift,
} from './drift.js';
export {
  BURST_PICKUP_FRACTION,
  type ChannelKind,
  type ChannelState,
  type ChannelTuning,
  chooseDeadChannels,
  drawChannelTuning,
  NeuronPopulation,
  type PopulationOptions,
  REFERENCE_SPEED_MM_S,
  TUNED_FRACTION,
} from './neurons.js';
export { Rng, RngBank, validateSeed } from './rng.js';
export { type SimulateSessionOptions, simulateSession } from './simulate-session.js';
export {
  MotorCortexSimulator,
  SIMULATOR_KINEMATIC_NAMES,
  SIMULATOR_KINEMATIC_UNITS,
  SIMULATOR_MODEL_VERSION,
  type SimulatorOptions,
  simulatorChannelLabels,
  subBinsPerBin,
} from './simulator.js';
export {
  CENTER_OUT_RADIUS_MM,
  CENTER_OUT_TARGETS,
  ENDPOINT_SCATTER_MM,
  HOLD_RANGE_MS,
  MIN_REACH_MM,
  MOVEMENT_RANGE_MS,
  minJerkPosition,
  minJerkVelocity,
  movementTimeMs,
  type Reach,
  ReachingTask,
  TASK_NAMES,
  type TaskName,
  WORKSPACE_HALF_WIDTH_MM,
} from './task.js';
