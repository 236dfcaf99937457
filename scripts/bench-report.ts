/**
 * Turns decoder benchmark results (JSON from bench-decoders.ts) into a Markdown table and an SVG
 * chart of R2 and streaming step latency per decoder.
 *
 *   pnpm bench:report bench-results/decoders.json [more.json ...] --md docs/benchmarks-decoders.md --svg docs/benchmarks-decoders.svg
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Row {
  decoder: string;
  r2: { x: number; y: number; mean: number };
  trainSeconds: number;
  chosen?: Record<string, unknown>;
  stepUs: { p50: number; p99: number };
  tfOneBinUs: { p50: number; p99: number } | null;
  speedupP50: number | null;
  params: number;
  footprintBytes: number;
  macsPerStep: number;
  acsPerStep?: number;
  activationSparsity?: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { md: { type: 'string' }, svg: { type: 'string' } },
});
const reports = positionals.map(
  (p) => JSON.parse(readFileSync(p, 'utf8')) as { file: string; date: string; results: Row[] },
);
// A decoder measured in more than one file: the later file's row replaces the earlier one.
const rows = [...new Map(reports.flatMap((r) => r.results).map((r) => [r.decoder, r] as const)).values()];
const f = (v: number | null | undefined, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));

const md = [
  `Recording: \`${reports[0]?.file}\`, first 70 % of bins to train, last 30 % decoded bin by bin; velocity. Run ${reports.map((r) => r.date.slice(0, 16)).join(', ')}.`,
  '',
  '| decoder | R2 x | R2 y | R2 mean | train s | epochs | step p50 us | step p99 us | TF.js one-bin p50 us | speed-up | params | bytes | MACs/step | ACs/step | sparsity |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.decoder} | ${f(r.r2.x, 3)} | ${f(r.r2.y, 3)} | **${f(r.r2.mean, 3)}** | ${f(r.trainSeconds)} | ${r.chosen?.epochs ?? '-'} | ${f(r.stepUs.p50)} | ${f(r.stepUs.p99)} | ${f(r.tfOneBinUs?.p50)} | ${r.speedupP50 ? `${f(r.speedupP50)}x` : '-'} | ${r.params} | ${r.footprintBytes} | ${r.macsPerStep} | ${f(r.acsPerStep, 0)} | ${f(r.activationSparsity, 3)} |`,
  ),
].join('\n');
if (values.md) writeFileSync(values.md, `${md}\n`);
console.log(md);

if (values.svg) {
  const W = 760;
  const rowH = 26;
  const top = 40;
  const H = top + rows.length * rowH + 40;
  const left = 110;
  const half = (W - left - 40) / 2;
  const maxUs = Math.max(100, ...rows.map((r) => r.stepUs.p99));
  const bars = rows
    .map((r, i) => {
      const y = top + i * rowH;
      const r2w = Math.max(0, r.r2.mean) * half;
      const p50 = (r.stepUs.p50 / maxUs) * (half - 20);
      const p99 = (r.stepUs.p99 / maxUs) * (half - 20);
      const x2 = left + half + 20;
      return [
        `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${r.decoder}</text>`,
        `<rect x="${left}" y="${y + 4}" width="${r2w.toFixed(1)}" height="16" fill="#4c78a8"/>`,
        `<text x="${left + r2w + 4}" y="${y + 16}">${r.r2.mean.toFixed(3)}</text>`,
        `<rect x="${x2}" y="${y + 4}" width="${p99.toFixed(1)}" height="16" fill="#f2b880"/>`,
        `<rect x="${x2}" y="${y + 4}" width="${p50.toFixed(1)}" height="16" fill="#e45756"/>`,
        `<text x="${x2 + p99 + 4}" y="${y + 16}">${r.stepUs.p50.toFixed(0)} / ${r.stepUs.p99.toFixed(0)} us</text>`,
      ].join('');
    })
    .join('\n');
  const x100 = left + half + 20 + (100 / maxUs) * (half - 20);
  const svg = `<svg role="img" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<title>Velocity R2 and streaming step latency per decoder</title>
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="22" font-weight="bold">velocity R2 (mean of x, y; held-out 30 %)</text>
<text x="${left + half + 20}" y="22" font-weight="bold">streaming step, p50 (dark) / p99 (light)</text>
${bars}
<line x1="${x100}" y1="${top}" x2="${x100}" y2="${top + rows.length * rowH}" stroke="#888" stroke-dasharray="4 3"/>
<text x="${x100}" y="${top + rows.length * rowH + 14}" text-anchor="middle" fill="#555">100 us</text>
<line x1="${left + 0.93 * half}" y1="${top}" x2="${left + 0.93 * half}" y2="${top + rows.length * rowH}" stroke="#888" stroke-dasharray="4 3"/>
<text x="${left + 0.93 * half}" y="${top + rows.length * rowH + 14}" text-anchor="middle" fill="#555">0.93</text>
</svg>
`;
  writeFileSync(values.svg, svg);
}
