import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcquisitionBinding } from '../src/binding.js';
import type { Configuration, DeviceConnection, Received } from '../src/connection.js';
import { CommandRejectedError, DeviceNotFoundError, PortClosedError } from '../src/errors.js';
import type { CountsMessage, DeviceMessage } from '../src/protocol/messages.js';

export interface ContractTarget {
  readonly binding: AcquisitionBinding;
  /** A port that has a device. */
  readonly path: string;
  /** A port that does not exist. */
  readonly missingPath: string;
  /** A configuration the device must refuse (undefined: not tested, e.g. on unknown hardware). */
  readonly invalidConfigure?: Configuration;
  /** A configuration the device must accept, and what `info` must say after it. */
  readonly validConfigure?: { configure: Configuration; expect: { subBinUs?: number; channels?: number } };
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects messages of a connection until told to stop. */
function collect(connection: DeviceConnection): { messages: Received[]; stop(): void } {
  const messages: Received[] = [];
  const previous = connection.onMessage;
  connection.onMessage = (m) => {
    messages.push(m);
    previous?.(m);
  };
  return {
    messages,
    stop: () => {
      connection.onMessage = previous;
    },
  };
}

/**
 * The one suite every `AcquisitionBinding` passes (after node-serialport's binding tests): the simulator,
 * the replay binding, a real pseudo-terminal with the firmware simulator on its other end, and real
 * hardware when `EDGE_BCI_TEST_PORT` names a port.
 */
export function describeBindingContract(name: string, setup: () => Promise<ContractTarget>): void {
  describe(`AcquisitionBinding contract: ${name}`, () => {
    let target: ContractTarget;
    beforeAll(async () => {
      target = await setup();
    });
    afterAll(async () => {
      await target?.teardown();
    });

    it('lists the port', async () => {
      const ports = await target.binding.list();
      expect(ports.map((p) => p.path)).toContain(target.path);
      for (const p of ports) expect(p.binding).toBe(target.binding.name);
    });

    it('says DeviceNotFoundError for a port that is not there', async () => {
      await expect(target.binding.open(target.missingPath)).rejects.toBeInstanceOf(DeviceNotFoundError);
    });

    it('handshakes on open: info with channels, sub-bin width, firmware version and boot id', async () => {
      const connection = await target.binding.open(target.path);
      try {
        const info = connection.info!;
        expect(info.type).toBe('info');
        expect(info.channels).toBeGreaterThan(0);
        expect(info.subBinUs).toBeGreaterThan(0);
        expect(info.firmwareVersion).toHaveLength(3);
        expect(Number.isInteger(info.bootId)).toBe(true);
        expect((await connection.ping()).result).toBe('ok');
      } finally {
        await connection.close();
      }
    });

    it('streams consecutive data after start, stops after stop, refuses configure while streaming', async () => {
      const connection = await target.binding.open(target.path);
      try {
        const info = connection.info!;
        const seen = collect(connection);
        await connection.start();
        await sleep(300);
        await expect(connection.configure({ subBinUs: info.subBinUs })).rejects.toMatchObject({
          result: 'busy',
        });
        await connection.stop();
        await sleep(100);
        const before = seen.messages.length;
        await sleep(200);
        const after = seen.messages.length;
        seen.stop();
        const data = seen.messages.filter((m): m is Received<CountsMessage> => m.type === 'counts');
        expect(data.length).toBeGreaterThan(3);
        for (let i = 1; i < data.length; i++) {
          // On a clean link every data packet follows the previous one in time.
          expect(data[i]!.deviceTimeUs - data[i - 1]!.deviceTimeUs).toBe(info.subBinUs);
          expect(data[i]!.durationUs).toBe(info.subBinUs);
          expect(data[i]!.counts.length).toBe(info.channels);
        }
        const seqs = seen.messages.map((m: DeviceMessage) => m.seq);
        for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
        expect(after).toBe(before);
      } finally {
        await connection.close();
      }
    });

    it('applies a valid configuration and refuses an invalid one with a named error', async () => {
      const connection = await target.binding.open(target.path);
      try {
        if (target.invalidConfigure) {
          const err = await connection.configure(target.invalidConfigure).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(CommandRejectedError);
          expect((err as CommandRejectedError).result).toBe('invalidArgument');
        }
        if (target.validConfigure) {
          const info = await connection.configure(target.validConfigure.configure);
          expect(info).toMatchObject(target.validConfigure.expect);
          expect(connection.info).toBe(info);
        }
      } finally {
        await connection.close();
      }
    });

    it('rejects commands after close with PortClosedError, and the port opens again', async () => {
      const connection = await target.binding.open(target.path);
      await connection.close();
      expect(connection.isOpen).toBe(false);
      await expect(connection.ping()).rejects.toBeInstanceOf(PortClosedError);
      const again = await target.binding.open(target.path);
      expect(again.info!.channels).toBeGreaterThan(0);
      await again.close();
    });
  });
}
