import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The real recordings beside the checkout (`../shared/data`); CI has the same folder. */
export const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
export const HAVE_DATA = existsSync(`${DATA}README.md`);
export const dataFile = (rel: string) => `${DATA}${rel}`;
