// SHA-256-crypt against the test vectors of its specification (Ulrich Drepper, "Unix crypt using
// SHA-256 and SHA-512", the SHA-256 table; the same vectors are in the glibc, OpenSSL and PHP
// test suites), and the checks Phoenix builds on it.
import { describe, expect, it } from 'vitest';
import { looksLikeCryptHash, sha256Crypt, verifySha256Crypt } from '../../src/pve/format/sha-crypt.js';

// [setting, password, crypt(3) result]
const VECTORS: Array<[string, string, string]> = [
  ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  [
    '$5$rounds=10000$saltstringsaltstring',
    'Hello world!',
    '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA',
  ],
  [
    '$5$rounds=5000$toolongsaltstring',
    'This is just a test',
    '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5',
  ],
  [
    '$5$rounds=1400$anotherlongsaltstring',
    'a very much longer text to encrypt.  This one even stretches over morethan one line.',
    '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1',
  ],
  [
    '$5$rounds=77777$short',
    'we have a short salt string but not a short password',
    '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/',
  ],
  [
    '$5$rounds=123456$asaltof16chars..',
    'a short string',
    '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD',
  ],
  [
    '$5$rounds=10$roundstoolow',
    'the minimum number is still observed',
    '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC',
  ],
];

describe('sha256Crypt', () => {
  it.each(VECTORS)('%s', (setting, password, expected) => {
    expect(sha256Crypt(password, setting)).toBe(expected);
  });

  it('takes a whole hash as the setting, reusing its salt and rounds', () => {
    for (const [, password, hash] of VECTORS) expect(sha256Crypt(password, hash)).toBe(hash);
  });

  // The upper bound (999999999 rounds) is left untested: it takes hours.
  it('names the rounds only when the setting did, and cuts the salt at 16 characters', () => {
    expect(sha256Crypt('x', '$5$abc$')).toMatch(/^\$5\$abc\$[./0-9A-Za-z]{43}$/);
    expect(sha256Crypt('x', '$5$rounds=5000$abc')).toMatch(/^\$5\$rounds=5000\$abc\$/);
    expect(sha256Crypt('x', '$5$rounds=5000$abc')!.slice(-43)).toBe(sha256Crypt('x', '$5$abc')!.slice(-43));
    expect(sha256Crypt('x', '$5$0123456789abcdefXYZ')).toMatch(/^\$5\$0123456789abcdef\$/);
    // Not a number followed by `$`: part of the salt, as in glibc.
    expect(sha256Crypt('x', '$5$rounds=x$abc')).toMatch(/^\$5\$rounds=x\$/);
  });

  it('hashes the UTF-8 bytes of the password, and nothing but $5$', () => {
    const hash = sha256Crypt('pässwörd-🔑', '$5$Xy7/abcD')!;
    expect(verifySha256Crypt('pässwörd-🔑', hash)).toBe(true);
    expect(verifySha256Crypt('passwort-🔑', hash)).toBe(false);
    expect(sha256Crypt('x', '$6$saltstring')).toBeUndefined();
    expect(sha256Crypt('x', 'saltstring')).toBeUndefined();
  });
});

describe('verifySha256Crypt', () => {
  it('accepts the password of each vector and nothing else', () => {
    for (const [, password, hash] of VECTORS) {
      expect(verifySha256Crypt(password, hash)).toBe(true);
      expect(verifySha256Crypt(`${password} `, hash)).toBe(false);
    }
  });

  it('rejects a damaged or foreign hash rather than failing', () => {
    const [, password, hash] = VECTORS[0]!;
    expect(verifySha256Crypt(password, hash.slice(0, -1))).toBe(false);
    expect(verifySha256Crypt(password, `${hash.slice(0, -1)}.`)).toBe(false);
    expect(verifySha256Crypt(password, '$6$saltstring$whatever')).toBe(false);
    expect(verifySha256Crypt(password, '')).toBe(false);
  });
});

describe('looksLikeCryptHash (what qemu-server stores as given)', () => {
  it('knows MD5-, SHA-256-, SHA-512-crypt and bcrypt forms', () => {
    for (const h of [VECTORS[0]![2], '$6$salt$hash', '$1$salt$hash', '$2y$10$hash', '$2a$10$hash'])
      expect(looksLikeCryptHash(h)).toBe(true);
    for (const h of ['hunter2', '$5$nosecondpart', '$7$a$b', '$y$j9T$salt$hash', '5$a$b'])
      expect(looksLikeCryptHash(h)).toBe(false);
  });
});
