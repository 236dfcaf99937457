import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateSession, writeSessionFile } from '@edge-bci/core';
import { describe, it } from 'vitest';
import { ReplayBinding, SimulatorBinding } from '../src/bindings/in-process.js';
import { SerialBinding } from '../src/bindings/serial.js';
import { Firmware } from '../src/firmware/firmware.js';
import { SerialFirmwareRunner } from '../src/firmware/serial-runner.js';
import { simulatorSource } from '../src/firmware/source.js';
import { PtyPair } from '../src/pty/socat.js';
import { describeBindingContract } from './contract.js';

describeBindingContract('simulator', async () => {
  const binding = new SimulatorBinding({ devices: { 'sim://a': { channels: 32, seed: 2 } } });
  return {
    binding,
    path: 'sim://a',
    missingPath: 'sim://nothing',
    invalidConfigure: { subBinUs: 1500 },
    validConfigure: { configure: { subBinUs: 2000, channels: 16 }, expect: { subBinUs: 2000, channels: 16 } },
    teardown: async () => binding.dispose(),
  };
});

describeBindingContract('replay', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-bci-replay-'));
  const file = join(dir, 'short.ebci');
  writeSessionFile(file, simulateSession({ seconds: 5, channels: 24, seed: 3, binWidthUs: 10_000 }));
  const binding = new ReplayBinding([file]);
  return {
    binding,
    path: file,
    missingPath: join(dir, 'missing.ebci'),
    invalidConfigure: { subBinUs: 1000 },
    validConfigure: { configure: { subBinUs: 10_000 }, expect: { subBinUs: 10_000, channels: 24 } },
    teardown: async () => {
      binding.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeBindingContract('serial over a pseudo-terminal, firmware simulator on the other end', async () => {
  const pty = await PtyPair.open();
  const firmware = new Firmware({ source: simulatorSource({ seed: 4, channels: 64 }), bootId: 42 });
  const runner = await SerialFirmwareRunner.start({ firmware, path: pty.device });
  const previous = process.env.EDGE_BCI_PORTS;
  process.env.EDGE_BCI_PORTS = pty.host;
  return {
    binding: new SerialBinding(),
    path: pty.host,
    missingPath: join(pty.dir, 'no-such-port'),
    invalidConfigure: { subBinUs: 1500 },
    validConfigure: { configure: { subBinUs: 1000, channels: 64 }, expect: { subBinUs: 1000, channels: 64 } },
    teardown: async () => {
      if (previous === undefined) delete process.env.EDGE_BCI_PORTS;
      else process.env.EDGE_BCI_PORTS = previous;
      await runner.stop();
      await pty.close();
    },
  };
});

const hardware = process.env.EDGE_BCI_TEST_PORT;
if (hardware) {
  describeBindingContract(`serial hardware at ${hardware}`, async () => {
    const previous = process.env.EDGE_BCI_PORTS;
    process.env.EDGE_BCI_PORTS = hardware;
    return {
      binding: new SerialBinding(),
      path: hardware,
      missingPath: `${hardware}-missing`,
      teardown: async () => {
        if (previous === undefined) delete process.env.EDGE_BCI_PORTS;
        else process.env.EDGE_BCI_PORTS = previous;
      },
    };
  });
} else {
  describe('AcquisitionBinding contract: serial hardware', () => {
    it.todo(
      'set EDGE_BCI_TEST_PORT=/dev/ttyACM0 (a device speaking docs/protocol.md) to run the contract on hardware',
    );
  });
}
