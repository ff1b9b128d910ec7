// POSIX shell quoting for the one place a command line is built: the remote side of `ssh`.
// Words made only of safe characters stay bare (readable logs); everything else is wrapped in
// single quotes, with each embedded single quote written as '\''.
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The one command line the remote side of `ssh` runs: every word quoted, joined by spaces. sshd
 * hands it to the login shell with `-c`, which splits it back into exactly these words.
 */
export function remoteCommandLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
