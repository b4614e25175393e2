/**
 * Joins annotated hex lines: each entry is `'<hex bytes> // what they are'` or just hex; spaces and the
 * comment after `//` are ignored, so vectors can be written one field per line.
 */
export function hex(...lines: string[]): string {
  return lines.map((l) => l.split('//')[0].replace(/\s+/g, '')).join('');
}

export const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
