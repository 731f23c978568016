import { execFile } from 'node:child_process';

/**
 * The text of a PDF, extracted by pdf-parse (PDF.js) in a plain Node child process: PDF.js loads
 * ES modules dynamically, which jest's module sandbox cannot. No system package is needed.
 */
export function pdfText(pdf: Buffer): Promise<string> {
  const script = `const { PDFParse } = require('pdf-parse');
const chunks = []; process.stdin.on('data', (c) => chunks.push(c)); process.stdin.on('end', async () => {
  const result = await new PDFParse({ data: new Uint8Array(Buffer.concat(chunks)) }).getText();
  process.stdout.write(result.text);
});`;
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['-e', script], { cwd: __dirname, maxBuffer: 10 * 1024 * 1024 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    child.stdin!.end(pdf);
  });
}
