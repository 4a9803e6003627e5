// terser-minify.mjs: terser behind the command line of `otasign minify`, so the
// oracle and the fixtures can be pointed at a known minifier to check the checks:
//   OTA_MINIFIER="node tests/js/terser-minify.mjs" node tests/minify/oracle-corpus.mjs
// Usage: node terser-minify.mjs minify IN [-o OUT] [--no-mangle]
//   --no-mangle: whitespace only (compress:false, mangle:false, no comments)
//   default:     mangle only (compress:false, mangle:true, no comments)
import { minify } from 'terser';
import { readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args[0] === 'minify') args.shift();
let input = null, output = null, mangle = true;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '-o') output = args[++i];
  else if (args[i] === '--no-mangle') mangle = false;
  else if (args[i] === '--target') i++;
  else input = args[i];
}
if (!input) { console.error('usage: terser-minify.mjs minify IN [-o OUT] [--no-mangle]'); process.exit(2); }
try {
  const r = await minify(readFileSync(input, 'utf8'), {
    compress: false, mangle, format: { comments: false }, parse: { bare_returns: true },
  });
  if (output) writeFileSync(output, r.code); else process.stdout.write(r.code);
} catch (e) {
  console.error(`${input}: ${e.message}`);
  process.exit(1);
}
