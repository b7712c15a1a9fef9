/**
 * Issue #12's targets, read from the figures of one run (never asserted in a test: the machines
 * are shared and noisy; the benchmark prints met or not met, with the measured value).
 *
 * Targets are for the P-256 intermediate with governance on:
 * - ratio to the composite ceiling ≥ 0.5 for both CSR shapes;
 * - p99 ≤ 50 ms in the open loop at half the measured maximum;
 * - a herd of 10,000: every proxy served, none needing more than one retry, within 1.5× the bare
 *   server's herd time, peak RSS ≤ 300 MB;
 * - governance costs ≤ 15 % of throughput.
 *
 * @module
 */
import type { ScaleReport } from './section.js';

const verdict = (met: boolean): string => (met ? 'met    ' : 'NOT MET');
const fixed = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '-';

/** The target lines for `report`. */
export function targetLines(report: ScaleReport): string[] {
  const on = report.options.configurations.includes('governance on')
    ? 'governance on'
    : 'governance off';
  const lines = [`   targets (P-256 intermediate, ${on}):`];
  const steady = (configuration: string, csr: string, intermediate: string) =>
    report.steady.find(
      (figures) =>
        figures.configuration === configuration &&
        figures.scenario === `steady ${csr} CSRs, ${intermediate} intermediate`,
    );
  for (const csr of ['RSA-2048', 'P-256']) {
    const figures = steady(on, csr, 'P-256');
    if (figures === undefined) continue;
    lines.push(
      `     ${verdict(figures.ratio >= 0.5)} ratio >= 0.5, ${csr} CSRs: ${fixed(figures.ratio, 2)} (${fixed(figures.issuedPerSec, 0)} of ${fixed(figures.compositeCeilingPerSec, 0)}/s)`,
    );
  }
  for (const open of report.openLoop.filter((figures) => figures.configuration === on)) {
    lines.push(
      `     ${verdict(open.p99Ms <= 50)} p99 <= 50 ms at half rate, ${open.scenario.replace('open loop at half rate, ', '')}: ${fixed(open.p99Ms, 1)} ms at ${fixed(open.ratePerSec, 0)}/s (bare server at half its rate: ${fixed(report.ceilings.bareHalfRate.p99Ms, 1)} ms at ${fixed(report.ceilings.bareHalfRate.ratePerSec, 0)}/s)`,
    );
  }
  const herd = report.herd.find((figures) => figures.configuration === on);
  if (herd !== undefined) {
    lines.push(
      `     ${verdict(herd.failures === 0 && herd.maxAttempts <= 2)} herd: every proxy served, at most one retry: ${herd.failures} failures, ${herd.retriedProxies} retried, max ${herd.maxAttempts} attempts`,
      `     ${verdict(herd.ratioToBare <= 1.5)} herd within 1.5x the bare server: ${fixed(herd.ratioToBare, 2)}x (${fixed(herd.seconds, 1)} s vs ${fixed(herd.bareSeconds, 1)} s)`,
      `     ${verdict(herd.peakRssMiB <= 300)} herd peak RSS <= 300 MB: ${fixed(herd.peakRssMiB, 0)} MiB (bare server's herd: ${fixed(report.ceilings.bareHerdPeakRssMiB, 0)} MiB)`,
    );
  }
  if (on === 'governance on') {
    for (const csr of ['RSA-2048', 'P-256']) {
      const withGovernance = steady('governance on', csr, 'P-256');
      const without = steady('governance off', csr, 'P-256');
      if (withGovernance === undefined || without === undefined) continue;
      const cost = 1 - withGovernance.issuedPerSec / without.issuedPerSec;
      lines.push(
        `     ${verdict(cost <= 0.15)} governance costs <= 15 %, ${csr} CSRs: ${fixed(cost * 100, 1)} % (${fixed(withGovernance.issuedPerSec, 0)} vs ${fixed(without.issuedPerSec, 0)}/s; CPU ${fixed(withGovernance.cpuMsPerCert, 2)} vs ${fixed(without.cpuMsPerCert, 2)} ms/cert)`,
      );
    }
  } else {
    lines.push('     -       governance cost: not measured (no governance-on run)');
  }
  // The RSA-2048 intermediate: measured, not a target; its signing dominates.
  for (const csr of ['RSA-2048', 'P-256']) {
    const ec = steady(on, csr, 'P-256');
    const rsa = steady(on, csr, 'RSA-2048');
    if (ec === undefined || rsa === undefined) continue;
    lines.push(
      `     info    RSA-2048 intermediate, ${csr} CSRs: ${fixed(rsa.issuedPerSec, 0)}/s, ${fixed(rsa.issuedPerSec / ec.issuedPerSec, 2)}x the P-256 intermediate (CPU ${fixed(rsa.cpuMsPerCert, 2)} vs ${fixed(ec.cpuMsPerCert, 2)} ms/cert)`,
    );
  }
  return lines;
}
