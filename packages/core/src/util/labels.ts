/** `count` labels `${prefix}001`, `${prefix}002`, ...: numbers zero-padded to `width` digits (longer ones kept whole). */
export function numberedLabels(prefix: string, count: number, width = 3): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}
