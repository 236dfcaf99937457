import { MAT_LAYOUTS, type MatLayout, type OpenRecordingOptions } from '@edge-bci/core';
import { choiceOption, numberOption } from './args.js';

/** Command-line options shared by every command that reads a recording. */
export const RECORDING_OPTIONS = {
  layout: { type: 'string' },
  counts: { type: 'string' },
  kinematics: { type: 'string' },
  'bin-ms': { type: 'string' },
  'kinematic-names': { type: 'string' },
  array: { type: 'string' },
} as const;

export const RECORDING_USAGE = `Reading recordings (.ebci, MATLAB level 5 and v7.3 .mat, NWB 2.x .nwb; the layout of a .mat is detected):
  --layout ${MAT_LAYOUTS.join('|')}   force a layout
  --counts VAR --kinematics VAR   the two matrices of the 'matrices' layout
  --bin-ms MS                     bin width when the file does not say (default 50), or to override it
  --kinematic-names a,b,...       names of the kinematic columns
  --array NAME                    TrialData: which array's spikes (default M1)`;

export function recordingOptions(values: {
  layout?: string;
  counts?: string;
  kinematics?: string;
  'bin-ms'?: string;
  'kinematic-names'?: string;
  array?: string;
}): OpenRecordingOptions {
  const binMs =
    values['bin-ms'] === undefined
      ? undefined
      : numberOption(values['bin-ms'], 'bin-ms', 50, { min: 0.1, max: 10_000 });
  return {
    layout:
      values.layout === undefined
        ? undefined
        : choiceOption<MatLayout>(values.layout, 'layout', MAT_LAYOUTS, 'matrices'),
    countsVariable: values.counts,
    kinematicsVariable: values.kinematics,
    binWidthUs: binMs === undefined ? undefined : Math.round(binMs * 1000),
    kinematicNames: values['kinematic-names']?.split(',').map((s) => s.trim()),
    array: values.array,
  };
}
