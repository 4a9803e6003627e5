// espruino-pretok.mjs: `otasign minify/release --pretokenise` (issue 15), checked
// byte for byte and on the real Espruino interpreter.
//
//  - fixtures: exact output bytes of small cases (token bytes, raw strings and
//    integers where shorter, what stays text);
//  - refusals: a target other than 2v29, --no-minify, release --from;
//  - round trip: every corpus file (corpus.txt), every program of
//    tests/minify/programs and tests/minify/pretok/literals.js, pretokenised
//    (mangled): the detokeniser of pretok-detok.mjs (written from Espruino's
//    jslex.c) gives back the same token sequence as the minified text (acorn's
//    tokenizer on both: types and values; atob("...") comes back as the
//    string of its bytes, so the text side is compared with atob of canonical
//    base64 replaced the same way), never a longer file, never a 0xFF byte
//    the text lacks (the agent resumes a download at the first 0xFF), never a
//    crash;
//  - real interpreter, `espruino` and `espruino-pico`: every program of
//    tests/minify/programs (the corpus ones up to where Espruino stops, as in
//    espruino-diff) and programs/espruino/ and literals.js prints the same
//    pretokenised as minified, installed the way the agent runs a program
//    (written to Storage, then load()) and, when it has no NUL byte, run as a
//    script file (Espruino's Linux build reads a script file as a C string);
//  - releases: `otasign release --pretokenise` (auto encoding and heatshrink):
//    statement flag and release.json say so, program.js is the pretokenised
//    program, it runs the same from Storage on espruino-pico, --encoding
//    heatshrink's bundle.js decodes (by otasign's own check) to it, otasign
//    verify accepts it for a 2v29 device only, otasign inspect shows the flag.
// Prints "espruino-pretok: N passed, N failed[, N skipped]" last.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { ROOT, NODE_MODULES, minifierCommand } from './lib.mjs';
import { findEspruino } from './espruino-find.mjs';
import { detokenise } from './pretok-detok.mjs';

const SUITE = 'espruino-pretok';
let passed = 0, failed = 0, skipped = 0;
const ok = (what) => { passed++; if (process.env.OTA_VERBOSE) console.log(`ok   ${what}`); };
const fail = (what, why) => { failed++; console.log(`FAIL ${what}: ${why}`); };

if (!existsSync(join(NODE_MODULES, 'acorn'))) {
  console.log(`${SUITE}: tests/js/node_modules is missing: run scripts/deps.sh test (npm ci in tests/js)`);
  console.log(`${SUITE}: 0 passed, 1 failed`);
  process.exit(1);
}
const acorn = await import(join(NODE_MODULES, 'acorn/dist/acorn.mjs'));
const cmd = minifierCommand(SUITE);
const dir = mkdtempSync(join(tmpdir(), 'ota-pretok-'));
const otasign = (args, opts = {}) => spawnSync(cmd[0], [...cmd.slice(1), ...args],
  { cwd: ROOT, encoding: opts.encoding || 'utf8', timeout: 60000, maxBuffer: 64 << 20, input: opts.input });
const minify = (file, pretok, mangle = true) => {
  const out = join(dir, 'm.out');
  rmSync(out, { force: true });
  const r = otasign(['minify', file, '-o', out, ...(mangle ? [] : ['--no-mangle']), ...(pretok ? ['--pretokenise'] : [])]);
  return r.status === 0 && existsSync(out) ? readFileSync(out) : { error: `status ${r.status}: ${(r.stderr || '').trim().split('\n')[0]}` };
};
const hex = (b) => Buffer.from(b).toString('hex');

try {
  // ---- fixtures: exact bytes ------------------------------------------------
  // [source, expected output as hex] (mangled); 0xA3 `if` .. 0xC6 `of` reserved
  // words, 0x8A `==` .. 0xA1 `^=` operators, 0xA2 '=>', 0xD0 '??', 0xD1/0xD2 raw
  // strings, 0xD3..0xD5 raw ints (0x100 is 0xD5 0x00 0x01: NUL is fine; 0xFF never appears, so 32767, 0xff, 511 stay digits).
  const T = (s) => Buffer.from(s, 'latin1').toString('hex');
  const FIXTURES = [
    ['return in function', 'function f(a){return a}', 'aa' + T('f(e){') + 'ab' + T('e}')],
    ['var, typeof, ===', 'var x=typeof y===undefined', 'ac' + T('x=') + 'bf' + T('y') + '8b' + 'b7'],
    ['operators', 'a+=1;b>>>=2;c&&d||e??f', T('a') + '96' + T('1;b') + '95' + T('2;c') + '9e' + T('d') + 'a0' + T('e') + 'd0' + T('f')],
    ['arrow, let, const, of', 'for(let a of b)(c=>c)(a);const d=0', 'a7' + T('(') + 'ad' + T('e') + 'c6' + T('b)(e') + 'a2' + T('e)(e);') + 'ae' + T('d=0')],
    ['raw string where shorter', 'x="a\\nb"', T('x=') + 'd103' + T('a\nb')],
    ['string kept when not shorter', 'x="ab"', T('x="ab"')],
    ['octal escapes as Espruino reads them', 'x="\\1\\101\\08\\1234"', T('x=') + 'd106014100385334'],
    ['\\x escape raw', 'x="\\xfe\\x41"', T('x=') + 'd102fe41'],
    ['0xFF byte: the string stays text', 'x="\\xff\\x41"', T('x="\\xff\\x41"')],
    ['NUL byte raw (read by length)', 'x="ab\\0"', T('x=') + 'd103616200'],
    ['UTF-8 and \\u stay text', 'x="é\\n";y="\\u0041\\n"', T('x="') + 'c3a9' + T('\\n";y="\\u0041\\n"')],
    ['255 or 511 bytes: the length would hold 0xFF, text stays', 'x="' + '\\t'.repeat(255) + '";y="' + '\\t'.repeat(511) + '"', T('x="' + '\\t'.repeat(255) + '";y="' + '\\t'.repeat(511) + '"')],
    ['atob with 0xFF bytes: raw runs and "\\xff" in parentheses where shorter', 'x=atob("' + Buffer.concat([Buffer.from('A'.repeat(60)), Buffer.from([255]), Buffer.from('B'.repeat(60))]).toString('base64') + '").length',
      T('x=(') + 'd13c' + '41'.repeat(60) + T('+"\\xff"+') + 'd13c' + '42'.repeat(60) + T(').length')],
    ['long raw string', 'x="' + '\\t'.repeat(300) + '"', T('x=') + 'd22c01' + '09'.repeat(300)],
    ['ints', 'x=[0,7,42,100,127,128,999,1000,1024,32767,32768,0xff,0x100,511,1022,1.5,1e3,010]',
      T('x=[0,7,42,') + 'd464' + T(',') + 'd47f' + T(',128,999,') + 'd5e803' + T(',') + 'd50004' + T(',32767,32768,0xff,') + 'd50001' + T(',511,') + 'd5fe03' + T(',1.5,1e3,010]')],
    ['template stays text inside ${}', 'x=`a${typeof b}c`+typeof d', T('x=`a${typeof b}c`+') + 'bf' + T('d')],
    ['regex after token byte', 'return/a/.test(b)', 'ab' + T('/a/.test(b)')],
    ['property names are tokens too', 'a.default=b.of', T('a.') + 'bd' + T('=b.') + 'c6'],
    ['ASI newline kept', 'a=1\nb=2', T('a=1\nb=2')],
    ['atob of canonical base64: the decoded bytes raw', 'x=atob("AAEC/g==")+atob("QU")+atob("/w==")', T('x=') + 'd104000102fe' + T('+atob("QU")+("\\xff")')],
    ['atob not the global one, or after new: kept', 'function f(atob){return atob("QQ==")}new atob("QQ==");y.atob("QQ==")', 'aa' + T('f(e){') + 'ab' + T('e("QQ==")}') + 'b8' + T('atob("QQ==");y.atob("QQ==")')],
    ['no space between word and token byte', 'if(a)return b;else c()', 'a3' + T('(a)') + 'ab' + T('b;') + 'a4' + T('c()')],
  ];
  for (const [name, src, want] of FIXTURES) {
    const f = join(dir, 'fx.js');
    writeFileSync(f, src);
    const got = minify(f, true);
    if (got.error) { fail(`fixture ${name}`, got.error); continue; }
    if (hex(got) !== want) fail(`fixture ${name}`, `got ${hex(got)}, want ${want}`);
    else ok(`fixture ${name}`);
  }

  // ---- refusals ---------------------------------------------------------------
  {
    const f = join(dir, 'r.js');
    writeFileSync(f, 'print(1)');
    const cases = [
      ['minify --target 2v28', ['minify', f, '--pretokenise', '--target', '2v28'], /2v29/],
      ['minify --no-minify', ['minify', f, '--pretokenise', '--no-minify'], /needs minifying/],
      ['release --target 2v20', ['release', f, '--pretokenise', '--target', '2v20', '--unsigned', '--pub', 'x.pub', '--app', 'a', '--out', dir], /2v29/],
      ['release --from', ['release', '--from', join(dir, 'nothing-1'), '--pretokenise', '--key', 'x.key'], /--from/],
    ];
    for (const [name, args, re] of cases) {
      const r = otasign(args);
      if (r.status !== 2 || !re.test(r.stderr)) fail(`refuses ${name}`, `status ${r.status}, stderr ${JSON.stringify(r.stderr.trim())}`);
      else ok(`refuses ${name}`);
    }
  }

  // ---- round trip -------------------------------------------------------------
  const progDir = join(ROOT, 'tests/minify/programs');
  const espDir = join(progDir, 'espruino');
  const literals = join(ROOT, 'tests/minify/pretok/literals.js');
  const programs = [
    ...readdirSync(progDir).filter((f) => f.endsWith('.js')).sort().map((f) => ({ name: f, path: join(progDir, f), own: false })),
    ...readdirSync(espDir).filter((f) => f.endsWith('.js')).sort().map((f) => ({ name: 'espruino/' + f, path: join(espDir, f), own: true })),
    { name: 'pretok/literals.js', path: literals, own: true },
  ];
  const corpus = readFileSync(join(ROOT, 'tests/minify/corpus.txt'), 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => ({ name: l, path: join(NODE_MODULES, l) }));
  const toks = (text) => {
    const out = [];
    for (const t of acorn.tokenizer(text, { ecmaVersion: 'latest', allowReturnOutsideFunction: true, allowHashBang: true }))
      out.push(t.type.label + ':' + (t.value === undefined ? '' : typeof t.value === 'object' ? String(t.value.value ?? t.value.pattern) : String(t.value)));
    return out;
  };
  // atob("canonical base64") in the text, as the pretokenised form has it: the
  // string of the decoded bytes (a global atob; the programs never shadow it)
  const atobToString = (src) => src.replace(/(^|[^.\w$])atob\("([A-Za-z0-9+/]+={0,2})"\)/g, (m, pre, b64) => {
    const d = Buffer.from(b64, 'base64');
    if (d.length === 0 || d.length > 65535 || d.includes(0xff) || d.toString('base64') !== b64) return m;   // as otasign: no 0xFF
    return pre + '"' + Array.from(d, (c) => '\\x' + c.toString(16).padStart(2, '0')).join('') + '"';
  });
  let rtBytes = [0, 0];
  for (const p of [...corpus, ...programs]) {
    if (!existsSync(p.path)) { fail(`round trip ${p.name}`, 'file missing (npm ci in tests/js?)'); continue; }
    const text = minify(p.path, false), pt = minify(p.path, true);
    if (text.error || pt.error) { fail(`round trip ${p.name}`, text.error || pt.error); continue; }
    try {
      if (pt.length > text.length) throw new Error(`pretokenised ${pt.length} B > minified ${text.length} B`);
      if (pt.includes(0xff) && !text.includes(0xff)) throw new Error('a 0xFF byte appeared (the agent resumes downloads at the first 0xFF)');
      const back = Buffer.from(detokenise(pt), 'latin1').toString('utf8');
      const a = toks(atobToString(text.toString('utf8'))), b = toks(back);
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      if (i < a.length || a.length !== b.length) throw new Error(`token ${i}: minified ${a[i]}, detokenised ${b[i]}`);
      rtBytes[0] += text.length; rtBytes[1] += pt.length;
      ok(`round trip ${p.name}`);
    } catch (e) { fail(`round trip ${p.name}`, e.message); }
  }
  console.log(`${SUITE}: round trip: ${corpus.length + programs.length} files, minified ${rtBytes[0]} B, pretokenised ${rtBytes[1]} B (${(100 * rtBytes[1] / rtBytes[0]).toFixed(1)} %)`);

  // ---- real interpreter -------------------------------------------------------
  const esp = findEspruino();
  if (typeof esp !== 'string') {
    if (esp.wrong) fail('interpreter', esp.missing);
    else { skipped++; console.log(`${SUITE}: skipped the real-interpreter checks: ${esp.missing}`); }
  } else {
    const pico = join(dirname(esp), 'espruino-pico');
    const bins = [['espruino', esp]];
    if (existsSync(pico)) bins.push(['espruino-pico', pico]);
    else { skipped++; console.log(`${SUITE}: skipped espruino-pico: not next to ${esp}`); }
    const run = (bin, file, wd) => {
      const r = spawnSync(bin, [file], { cwd: wd, encoding: 'latin1', timeout: 20000, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = ((r.stdout || '') + (r.stderr || '')).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
      const lines = out.split('\n');
      let i = -1;
      lines.forEach((l, k) => { if (/^http:\/\/espruino\.com\/Donate/.test(l)) i = k; });   // after load(): the last banner
      const body = [];
      for (const l0 of lines.slice(i + 1)) {
        const l = l0.replace(/^>/, '');
        if (/^\s+at .*:\d+:\d+\)?\s*$/.test(l) || /^\s+at line \d+ col \d+/.test(l)) continue;
        if (/^\s*\^\s*$/.test(l) || /^\s*$/.test(l)) continue;
        if (/^ASSERT\(/.test(l)) { body.push(l); break; }
        body.push(/^Uncaught /.test(l) ? l.replace(/"[A-Za-z_$][\w$]*"/g, '"<name>"') : l);
      }
      return { lines: body, timedOut: !!(r.error && r.error.code === 'ETIMEDOUT') };
    };
    // install the way the agent does: Storage.write, then load()
    const viaStorage = (bin, prog, wd) => {
      rmSync(join(wd, 'espruino.flash'), { force: true });
      const loader = join(wd, 'loader.js');
      writeFileSync(loader, `require("Storage").write("p.js",atob("${Buffer.from(prog).toString('base64')}"));setTimeout(function(){load("p.js")},10);\n`);
      return run(bin, loader, wd);
    };
    let nrun = 0;
    for (const p of programs) {
      const wd = join(dir, 'w-' + p.name.replace(/[/.]/g, '_'));
      mkdirSync(wd, { recursive: true });
      const text = minify(p.path, false), pt = minify(p.path, true);
      if (text.error || pt.error) { fail(`${p.name}`, text.error || pt.error); continue; }
      const tf = join(wd, 'min.js'), pf = join(wd, 'pt.js');
      writeFileSync(tf, text); writeFileSync(pf, pt);
      for (const [bname, bin] of bins) {
        // the minified text and the pretokenised program, each run the same way
        const modes = [['Storage+load()', () => viaStorage(bin, text, wd), () => viaStorage(bin, pt, wd)]];
        if (!pt.includes(0)) modes.push(['script', () => run(bin, tf, wd), () => run(bin, pf, wd)]);
        else { skipped++; console.log(`skip ${p.name} ${bname} script: the pretokenised program holds a NUL byte (the Linux build reads a script file as a C string; it runs from Storage)`); }
        for (const [how, wantF, gotF] of modes) {
          // "New interpreter error: FIFO_FULL": the interpreter's event queue
          // overflowed (timing: a busy machine); run the pair again, 3 tries
          const fifo = (r) => r.lines.some((l) => /FIFO_FULL/.test(l));
          let want, got, tries = 0;
          do { want = wantF(); got = gotF(); } while ((fifo(want) || fifo(got)) && ++tries < 3);
          if (tries) console.log(`note ${p.name} ${bname} ${how}: FIFO_FULL on a busy machine, ran ${tries + 1} times`);
          if (want.timedOut) { fail(`${p.name} ${bname} ${how}`, 'the minified program timed out'); continue; }
          const stop = want.lines.find((l) => /^Uncaught |^ASSERT\(/.test(l));
          if (p.own && stop) { fail(`${p.name} ${bname} ${how}`, `the minified program stops: ${stop}`); continue; }
          const a = want.lines.join('\n'), b = got.lines.join('\n');
          if (got.timedOut) fail(`${p.name} ${bname} ${how}`, 'timed out');
          else if (a !== b) {
            let i = 0;
            while (i < want.lines.length && want.lines[i] === got.lines[i]) i++;
            fail(`${p.name} ${bname} ${how}`, `line ${i + 1}: minified printed ${JSON.stringify(want.lines[i])}, pretokenised ${JSON.stringify(got.lines[i])}`);
          } else { ok(`${p.name} ${bname} ${how}`); nrun++; }
        }
      }
    }
    console.log(`${SUITE}: ${programs.length} programs x ${bins.length} interpreters x (script, Storage+load()): ${nrun} runs the same pretokenised`);

    // ---- releases -------------------------------------------------------------
    const kb = join(dir, 'rel');
    const kg = otasign(['keygen', '--out', kb]);
    if (kg.status !== 0) fail('keygen', kg.stderr);
    const picoBin = bins[bins.length - 1];
    let seq = 0;
    for (const p of programs.filter((q) => q.own)) {
      const pt = minify(p.path, true);
      const want = viaStorage(picoBin[1], minify(p.path, false), dir);
      for (const enc of ['auto', 'heatshrink']) {
        const what = `${p.name} release --pretokenise --encoding ${enc}`;
        const out = join(dir, 'releases');
        const r = otasign(['release', p.path, '--key', kb + '.key', '--app', 'pt', '--seq', String(++seq), '--out', out, '--pretokenise', '--encoding', enc]);
        if (r.status !== 0) { fail(what, `status ${r.status}: ${r.stderr.trim()}`); continue; }
        const rd = join(out, `pt-${seq}`);
        const st = readFileSync(join(rd, 'statement.bin'));
        const rj = JSON.parse(readFileSync(join(rd, 'release.json'), 'utf8'));
        const prog = readFileSync(join(rd, 'program.js'));
        if (st[6] !== 1 || st.readUInt16LE(264) !== 229) { fail(what, `statement flags ${st[6]}, target ${st.readUInt16LE(264)}`); continue; }
        if (rj.pretokenised !== true || rj.target !== 229) { fail(what, `release.json pretokenised ${rj.pretokenised}`); continue; }
        if (!prog.equals(pt)) { fail(what, 'program.js is not the pretokenised program'); continue; }
        if (enc === 'heatshrink' && rj.encoding !== 'heatshrink') { fail(what, `encoding ${rj.encoding}`); continue; }
        const got = viaStorage(picoBin[1], prog, dir);
        if (got.lines.join('\n') !== want.lines.join('\n')) { fail(what, 'program.js prints otherwise from Storage'); continue; }
        const v = otasign(['verify', rd, '--pub', kb + '.pub', '--app', 'pt', '--firmware', '2v29']);
        if (v.status !== 0) { fail(what, `otasign verify --firmware 2v29: ${v.stdout}${v.stderr}`); continue; }
        // a device running another firmware (or not saying) refuses it
        const v2 = otasign(['verify', rd, '--pub', kb + '.pub', '--app', 'pt', '--firmware', '2v28']);
        const v3 = otasign(['verify', rd, '--pub', kb + '.pub', '--app', 'pt']);
        if (v2.status !== 1 || v3.status !== 1 || !/OTA_ERR_BAD_ENCODING_KIND/.test(v2.stdout + v2.stderr + v3.stdout + v3.stderr)) {
          fail(what, `otasign verify for 2v28 / no firmware: status ${v2.status} / ${v3.status}: ${v2.stdout}${v2.stderr}`); continue;
        }
        const ins = otasign(['inspect', join(rd, 'statement.bin')]);
        if (!/pretokenised\s+yes: Espruino 2v29/.test(ins.stdout)) { fail(what, `otasign inspect: ${ins.stdout}`); continue; }
        ok(what);
      }
    }
    // re-released (--from) it stays pretokenised: flag, target and program kept
    if (seq) {
      const out = join(dir, 'releases');
      const r = otasign(['release', '--from', join(out, `pt-${seq}`), '--key', kb + '.key']);
      const rd = join(out, `pt-${seq + 1}`);
      if (r.status !== 0 || !existsSync(join(rd, 'statement.bin'))) fail('release --from a pretokenised release', `status ${r.status}: ${r.stderr}`);
      else {
        const st = readFileSync(join(rd, 'statement.bin'));
        if (st[6] !== 1 || st.readUInt16LE(264) !== 229 || !readFileSync(join(rd, 'program.js')).equals(readFileSync(join(out, `pt-${seq}`, 'program.js'))))
          fail('release --from a pretokenised release', `flag ${st[6]}, target ${st.readUInt16LE(264)}`);
        else ok('release --from a pretokenised release keeps flag, target and program');
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${SUITE}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed ? 1 : 0;
