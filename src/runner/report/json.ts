// `--json`: every event as one JSON line on stdout, for machines.
import { type BuildEvent, JSON_VERSION } from '../events.js';

export function jsonRenderer(write: (line: string) => void): (e: BuildEvent) => void {
  return (e) => write(JSON.stringify({ version: JSON_VERSION, time: new Date().toISOString(), ...e }));
}
