// SHA-256-crypt (`$5$`, Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512"), the form in
// which Proxmox stores a VM's cloud-init password: qemu-server hashes `cipassword` with
// PVE::Tools::encrypt_pw — crypt(3) with a `$5$<8-char salt>$` setting — unless the value already
// looks like a crypt hash (qemu-server src/PVE/API2/Qemu.pm, `$opt eq 'cipassword'`; pve-common
// src/PVE/Tools.pm, `sub encrypt_pw`). Phoenix checks a declared password against that stored
// hash instead of keeping any hash of its own. Pure: the caller supplies the salt.
import { createHash, timingSafeEqual } from 'node:crypto';

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX = 16;
const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Which bytes of the final digest make each group of four output characters (the spec's order). */
const GROUPS: ReadonlyArray<readonly [number, number, number]> = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
];

/**
 * What qemu-server takes for an already hashed `cipassword` and stores as given (MD5-, SHA-256-,
 * SHA-512-crypt or bcrypt); anything else it hashes.
 */
export function looksLikeCryptHash(value: string): boolean {
  return /^\$(?:[156]|2[ay])(\$.+){2}/.test(value);
}

interface Setting {
  salt: string;
  rounds: number;
  /** `rounds=` was given, so the result names it (even when it is the default). */
  customRounds: boolean;
}

/** `$5$[rounds=N$]salt[$...]`: the salt ends at the next `$` and is cut at 16 characters. */
function parseSetting(setting: string): Setting | undefined {
  if (!setting.startsWith('$5$')) return undefined;
  let rest = setting.slice(3);
  let rounds = ROUNDS_DEFAULT;
  let customRounds = false;
  // As in glibc, a `rounds=` that is not a number followed by `$` is part of the salt.
  const m = /^rounds=(\d+)\$/.exec(rest);
  if (m) {
    rounds = Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[1])));
    customRounds = true;
    rest = rest.slice(m[0].length);
  }
  const end = rest.indexOf('$');
  const salt = (end < 0 ? rest : rest.slice(0, end)).slice(0, SALT_MAX);
  return { salt, rounds, customRounds };
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** `bytes` repeated to `length` bytes (whole copies, then a prefix). */
function stretch(bytes: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += bytes.length)
    bytes.copy(out, at, 0, Math.min(bytes.length, length - at));
  return out;
}

function encode64(b2: number, b1: number, b0: number, chars: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < chars; i++) {
    out += ALPHABET[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/**
 * crypt(3) of `password` (UTF-8, as Proxmox encodes it) with a `$5$` setting: `$5$salt`,
 * `$5$rounds=N$salt`, or a whole hash (its salt and rounds are reused). Undefined for a setting
 * that is not `$5$`.
 */
export function sha256Crypt(password: string, setting: string): string | undefined {
  const s = parseSetting(setting);
  if (!s) return undefined;
  const key = Buffer.from(password, 'utf8');
  const salt = Buffer.from(s.salt, 'utf8');

  // Digest B, then digest A: the key, the salt, B stretched over the key's length, then B or the
  // key for each bit of the key's length (lowest first).
  const b = sha256(key, salt, key);
  const a = createHash('sha256').update(key).update(salt).update(stretch(b, key.length));
  for (let n = key.length; n > 0; n >>>= 1) a.update(n & 1 ? b : key);
  let c = a.digest();

  // The P and S sequences: digests of the key repeated (key length) times and of the salt repeated
  // (16 + first byte of A) times, stretched or cut to the key's and salt's lengths.
  const dp = createHash('sha256');
  for (let i = 0; i < key.length; i++) dp.update(key);
  const p = stretch(dp.digest(), key.length);
  const ds = createHash('sha256');
  for (let i = 0; i < 16 + c[0]!; i++) ds.update(salt);
  const sSeq = stretch(ds.digest(), salt.length);

  for (let i = 0; i < s.rounds; i++) {
    const h = createHash('sha256');
    h.update(i & 1 ? p : c);
    if (i % 3 !== 0) h.update(sSeq);
    if (i % 7 !== 0) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }

  let out = '';
  for (const [x, y, z] of GROUPS) out += encode64(c[x]!, c[y]!, c[z]!, 4);
  out += encode64(0, c[31]!, c[30]!, 3);
  return `$5$${s.customRounds ? `rounds=${s.rounds}$` : ''}${s.salt}$${out}`;
}

/** Whether `hash` (a `$5$` crypt string) is the SHA-256-crypt of `password`. */
export function verifySha256Crypt(password: string, hash: string): boolean {
  const again = sha256Crypt(password, hash);
  if (again === undefined || again.length !== hash.length) return false;
  return timingSafeEqual(Buffer.from(again), Buffer.from(hash));
}
