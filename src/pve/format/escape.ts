// Proxmox's `encode_text`/`decode_text` (pve-common ParseUtils.pm): how description lines are
// stored as `#...` comment lines in guest config files.

const SAFE = (byte: number): boolean =>
  (byte >= 0x20 && byte <= 0x24) || (byte >= 0x26 && byte <= 0x39) || (byte >= 0x3b && byte <= 0x7e);

/** Escapes every byte outside `\x20-\x24 \x26-\x39 \x3b-\x7e` (so `%`, `:`, control chars, non-ASCII) as `%XX`. */
export function encodeText(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += SAFE(byte) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const NON_ASCII = /[\u0080-\uffff]/;
const ESCAPED_RUN = /(?:%[0-9a-fA-F]{2})+/g;

/** Reverses `encodeText`; stray `%` not followed by two hex digits is kept as is, like Perl's regex. */
export function decodeText(text: string): string {
  // ASCII text (every stamp block, most notes): decode each run of `%XX` on its own. An ASCII
  // byte is never inside a UTF-8 sequence, so this is the same as decoding all bytes at once.
  // Byte by byte, a large fleet's state read spent most of its parse time here.
  if (!NON_ASCII.test(text))
    return text.replace(ESCAPED_RUN, (run) => Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'));
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(text[i] ?? '', 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
