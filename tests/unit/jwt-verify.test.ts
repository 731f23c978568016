import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every jwt.verify in the service pins its algorithms (no `none`, no HS256-with-a-public-key). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

/** The argument text of a call starting at `open` (the index of its '('), by bracket depth. */
function callArguments(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

test('every jwt.verify call in src/ passes an algorithms option', () => {
  const calls: { file: string; args: string }[] = [];
  for (const file of sourceFiles(path.resolve(__dirname, '../../src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/jwt\.verify\(/g)) calls.push({ file, args: callArguments(text, m.index! + m[0].length - 1) });
  }
  expect(calls.length).toBeGreaterThanOrEqual(3);
  expect(calls.filter((c) => !/algorithms:\s*\[\s*'RS256'\s*\]/.test(c.args)).map((c) => c.file)).toEqual([]);
});

test('jsonwebtoken is only imported whole as `jwt`, so the check above sees every verify call', () => {
  // A named import (`import { verify } from 'jsonwebtoken'`), an alias or a require would hide a call from the scan.
  const offenders: string[] = [];
  for (const file of sourceFiles(path.resolve(__dirname, '../../src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import\s+([^;]*?)\s+from\s+|require\()\s*['"]jsonwebtoken['"]/g)) {
      if (m[1]?.trim() !== 'jwt') offenders.push(`${file}: ${m[0]}`);
    }
  }
  expect(offenders).toEqual([]);
});
