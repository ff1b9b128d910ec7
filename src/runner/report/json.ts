// `--json`: every event as one JSON line on stdout, for machines.
import type { BuildEvent } from '../events.js';

export function jsonRenderer(write: (line: string) => void): (e: BuildEvent) => void {
  return (e) => write(JSON.stringify({ time: new Date().toISOString(), ...e }));
}
