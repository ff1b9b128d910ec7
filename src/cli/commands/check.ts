// `phoenix check [--config <file>]`: load and validate the config, print one line per guest.
// Exit 0 when valid, 2 when not (every problem listed, with file:line and the fix).
import type { Command } from 'commander';
import { secretsRead } from '../../dsl/define.js';
import { formatDiagnostics } from '../../dsl/diagnostics.js';
import { loadConfig } from '../../dsl/load.js';
import type { Config, Guest } from '../../dsl/model.js';
import { configWarnings } from '../../dsl/warnings.js';
import { showsNodes } from '../nodes.js';
import { configOption, EXIT_BAD_CONFIG, loadConfigOrExit } from '../options.js';

/**
 * One line per guest, columns aligned:
 * `lxc  103 Step-CA    clone of 900  2 cores 1024 MiB  features: base_setup,step_ca  depends on: —`
 * (templates and onboot guests are flagged; a non-clone ends with the image it is created from).
 */
export function summarize(config: Config): string[] {
  const guests = [...config.guests.values()];
  const w = (f: (g: Guest) => string) => Math.max(0, ...guests.map((g) => f(g).length));
  const id = (g: Guest) => String(g.vmid);
  const origin = (g: Guest) => (g.cloneFrom !== undefined ? `clone of ${g.cloneFrom}` : 'new');
  const source = (g: Guest) => (g.kind === 'lxc' ? g.ostemplate : g.image)?.split('/').pop();
  const size = (g: Guest) => `${g.cores} core${g.cores === 1 ? '' : 's'} ${g.memoryMb} MiB`;
  const widths = { id: w(id), name: w((g) => g.name), origin: w(origin), size: w(size) };
  // A cluster: each guest's node after its name.
  const node = (g: Guest) =>
    showsNodes(config) ? [`on ${(g.node ?? config.node).padEnd(w((x) => x.node ?? config.node))}`, ''] : [];
  return guests.map((g) => {
    const flags = [g.template ? 'template' : '', g.boot.onboot ? 'onboot' : ''].filter(Boolean).join(',');
    return [
      g.kind.padEnd(3),
      id(g).padStart(widths.id),
      g.name.padEnd(widths.name),
      '',
      ...node(g),
      origin(g).padEnd(widths.origin),
      '',
      size(g).padEnd(widths.size),
      '',
      `features: ${g.features.join(',') || '—'}`,
      '',
      `depends on: ${g.dependsOn.join(',') || '—'}`,
      ...(flags ? ['', flags] : []),
      ...(g.cloneFrom === undefined ? ['', `from ${source(g) ?? '?'}`] : []),
    ].join(' ');
  });
}

/** Cloud-init passwords and SSH keys stay out of output (the model's promise: kept out of logs and plans). */
function redact(g: Guest): Guest {
  if (g.kind !== 'vm') return g;
  const ci = { ...g.cloudInit };
  if (ci.password !== undefined) ci.password = '<redacted>';
  if (ci.sshKeys !== undefined) ci.sshKeys = ci.sshKeys.map(() => '<redacted>');
  return { ...g, cloudInit: ci };
}

export function registerCheck(program: Command): void {
  configOption(
    program
      .command('check')
      .description('Validate the config and print one line per guest (exit 0 valid, 2 invalid)')
      .addHelpText(
        'after',
        '\nChecks types and shapes, references (cloneFrom, dependsOn, features, storages), dependency\n' +
          'cycles, Proxmox formats (VMIDs, DNS names, snapshot names, MACs, CIDRs, idmaps) and duplicate\n' +
          'IPs/MACs/names. It does not contact any host. Every problem is listed with file:line and a fix.\n\n' +
          'With --json, stdout is one JSON object: {"ok":true,"guests":[...resolved guests]} or\n' +
          '{"ok":false,"problems":[{path,message,fix,file,line,column}...]} (exit codes unchanged).\n\n' +
          'Examples:\n  phoenix check\n  phoenix check --config infra/phoenix.config.ts\n  phoenix check --json\n',
      )
      .option('--json', 'print the resolved guests (or the problems) as JSON on stdout'),
  ).action(async (flags: { config: string; json?: boolean }) => {
    if (flags.json) {
      const result = await loadConfig(flags.config);
      const out = result.ok
        ? {
            ok: true,
            file: result.value.file,
            node: result.value.node,
            ...(result.value.nodes ? { nodes: result.value.nodes } : {}),
            guests: [...result.value.guests.values()].map(redact),
          }
        : { ok: false, problems: result.error };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      if (!result.ok) process.exitCode = EXIT_BAD_CONFIG;
      return;
    }
    const config = await loadConfigOrExit(flags);
    if (!config) return;
    const lines = summarize(config);
    process.stdout.write(`${lines.join('\n')}\n`);
    const warnings = configWarnings(config);
    if (warnings.length)
      process.stderr.write(
        `${formatDiagnostics(warnings, { cwd: process.cwd() }).replace(/^(?=\S)/gm, 'warning: ')}\n`,
      );
    const n = config.guests.size;
    process.stdout.write(`${flags.config}: ${n} guest${n === 1 ? '' : 's'}, valid\n`);
    for (const [name, set] of secretsRead())
      process.stdout.write(
        `secret from the environment: ${name} (${set ? 'set' : 'unset: Phoenix leaves the value on the host as it is'})\n`,
      );
  });
}
