// Typed, lenient access to one legacy JSON object. Every key read is marked as consumed, so the
// keys nobody asked for can be reported (and kept in `meta`) instead of vanishing. Values of the
// wrong type are errors with their place; numbers written as strings ("900") are accepted with a
// warning, because the legacy files drifted between the two.

import { childPath } from './json-source.js';
import type { Report } from './report.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Reader {
  private readonly consumed = new Set<string>();

  constructor(
    readonly report: Report,
    readonly file: string,
    readonly path: string,
    readonly value: Record<string, Json>,
  ) {}

  at(key: string | number): string {
    return childPath(this.path, key);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.value, key) && this.value[key] !== null;
  }

  /** Marks a key consumed and returns its raw value (undefined for absent or null). */
  raw(key: string): Json | undefined {
    this.consumed.add(key);
    const v = this.value[key];
    return v === null ? undefined : v;
  }

  str(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    this.report.error(this.file, this.at(key), `expected a string, found ${describe(v)}`);
    return undefined;
  }

  int(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return toInt(this.report, this.file, this.at(key), v);
  }

  num(key: string): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) {
      this.report.warn(this.file, this.at(key), `number written as a string (${JSON.stringify(v)})`);
      return Number(v);
    }
    this.report.error(this.file, this.at(key), `expected a number, found ${describe(v)}`);
    return undefined;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false' || v === 1 || v === 0 || v === '1' || v === '0') {
      this.report.warn(this.file, this.at(key), `boolean written as ${JSON.stringify(v)}`);
      return v === 'true' || v === 1 || v === '1';
    }
    this.report.error(this.file, this.at(key), `expected true or false, found ${describe(v)}`);
    return undefined;
  }

  arr(key: string): Json[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (Array.isArray(v)) return v;
    this.report.error(this.file, this.at(key), `expected a list, found ${describe(v)}`);
    return undefined;
  }

  obj(key: string): Reader | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (isObject(v)) return new Reader(this.report, this.file, this.at(key), v);
    this.report.error(this.file, this.at(key), `expected an object, found ${describe(v)}`);
    return undefined;
  }

  /** Keys present and not yet read, in file order. */
  rest(): string[] {
    return Object.keys(this.value).filter((k) => !this.consumed.has(k));
  }

  /** Marks keys consumed without reading them (they were handled as a whole elsewhere). */
  consume(...keys: string[]): void {
    for (const k of keys) this.consumed.add(k);
  }
}

export function toInt(report: Report, file: string, path: string, v: Json): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return Number(v);
  report.error(file, path, `expected a whole number, found ${describe(v)}`);
  return undefined;
}

export function describe(v: Json | undefined): string {
  if (v === undefined || v === null) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}
