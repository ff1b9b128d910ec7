// POSIX shell quoting for the one place a command line is built: the remote side of `ssh`.
// Words made only of safe characters stay bare (readable logs); everything else is wrapped in
// single quotes, with each embedded single quote written as '\''.
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
