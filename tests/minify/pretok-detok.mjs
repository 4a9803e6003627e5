// pretok-detok.mjs: a detokeniser for Espruino's pretokenised encoding, for the
// tests only (written from Espruino 2v29's src/jslex.c: jslGetNextToken reads a
// byte >= 0x80 outside a literal as that token; 0xD1/0xD2 raw strings, 0xD3-0xD5
// raw integers).  detokenise(buf) returns JavaScript text (a latin1 string of
// the bytes) whose tokens are those Espruino reads from buf; it throws on bytes
// no 2v29 lexer would read (a byte >= 0x80 outside a literal that is no token
// id, a raw value cut short).
export const NAMES = ['==', '===', '!=', '!==', '<=', '<<', '<<=', '>=', '>>', '>>>', '>>=', '>>>=',
  '+=', '-=', '++', '--', '*=', '/=', '%=', '&=', '&&', '|=', '||', '^=', '=>',
  'if', 'else', 'do', 'while', 'for', 'break', 'continue', 'function', 'return',
  'var', 'let', 'const', 'this', 'throw', 'try', 'catch', 'finally', 'true', 'false',
  'null', 'undefined', 'new', 'in', 'instanceof', 'switch', 'case', 'default',
  'delete', 'typeof', 'void', 'debugger', 'class', 'extends', 'super', 'static', 'of'];
export const tokenName = (b) => (b === 208 ? '??' : b >= 138 && b < 138 + NAMES.length ? NAMES[b - 138] : null);

// Espruino's lexer reads '/' as a regex after these (jslex.c, JSLJT_FORWARDSLASH):
// the start, any token id but true/false/null/undefined, and these characters.
const VALUES = new Set(['true', 'false', 'null', 'undefined']);
const quote = (bytes) => '"' + Array.from(bytes, (c) =>
  c === 0x22 || c === 0x5c ? '\\' + String.fromCharCode(c)
    : c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0')).join('') + '"';
const isWord = (c) => c < 0x80 && /[A-Za-z0-9_$\\.]/.test(String.fromCharCode(c));

export function detokenise(buf) {
  let out = '', i = 0, last = null;   // last: the previous token
  const n = buf.length;
  const need = (k) => { if (i + k > n) throw new Error(`raw value cut short at ${i}`); };
  const regexAllowed = () => last === null || (last.tok && !VALUES.has(last.text)) ||
    (!last.tok && '!%&*+-/<=>?[{}(,;:~|^'.includes(last.text));
  // inside ${...}: plain text up to the matching '}' (strings and templates nested)
  const copyCode = () => {
    let depth = 1;
    while (i < n) {
      const c = buf[i];
      if (c === 0x22 || c === 0x27 || c === 0x60) { copyQuoted(); continue; }
      if (c === 0x7b) depth++;
      if (c === 0x7d && --depth === 0) { i++; return; }
      i++;
    }
    throw new Error('unterminated template substitution');
  };
  // a quoted string or template starting at i, bytes as they are
  const copyQuoted = () => {
    const q = buf[i], s = i++;
    while (i < n && buf[i] !== q) {
      if (buf[i] === 0x5c) i += 2;
      else if (q === 0x60 && buf[i] === 0x24 && buf[i + 1] === 0x7b) { i += 2; copyCode(); }
      else i++;
    }
    if (i >= n) throw new Error(`unterminated literal at ${s}`);
    i++;
    return Buffer.from(buf.subarray(s, i)).toString('latin1');
  };
  while (i < n) {
    const c = buf[i];
    if (c === 0xd1 || c === 0xd2) {
      i++; need(c === 0xd1 ? 1 : 2);
      const len = c === 0xd1 ? buf[i] : buf[i] | (buf[i + 1] << 8);
      i += c === 0xd1 ? 1 : 2; need(len);
      out += ' ' + quote(buf.subarray(i, i + len)) + ' ';
      i += len; last = { tok: false, text: 'str' };
    } else if (c === 0xd3) { i++; out += ' 0 '; last = { tok: false, text: 'int' }; }
    else if (c === 0xd4) { i++; need(1); out += ' ' + ((buf[i] << 24) >> 24) + ' '; i++; last = { tok: false, text: 'int' }; }
    else if (c === 0xd5) { i++; need(2); out += ' ' + (((buf[i] | (buf[i + 1] << 8)) << 16) >> 16) + ' '; i += 2; last = { tok: false, text: 'int' }; }
    else if (c >= 0x80) {
      const name = tokenName(c);
      if (!name) throw new Error(`byte 0x${c.toString(16)} at ${i} is no 2v29 token`);
      out += ' ' + name + ' '; i++; last = { tok: true, text: name };
    } else if (c === 0x22 || c === 0x27 || c === 0x60) { out += copyQuoted(); last = { tok: false, text: 'str' }; }
    else if (c === 0x2f && buf[i + 1] !== 0x2f && buf[i + 1] !== 0x2a && regexAllowed()) {
      const s = i++;
      let cls = false;
      while (i < n && (buf[i] !== 0x2f || cls)) {
        if (buf[i] === 0x5c) i++;
        else if (buf[i] === 0x5b) cls = true;
        else if (buf[i] === 0x5d) cls = false;
        i++;
      }
      i++;
      while (i < n && /[A-Za-z]/.test(String.fromCharCode(buf[i]))) i++;
      out += Buffer.from(buf.subarray(s, i)).toString('latin1'); last = { tok: false, text: 're' };
    } else if (isWord(c)) {
      const s = i;
      while (i < n && isWord(buf[i])) i++;
      const w = Buffer.from(buf.subarray(s, i)).toString('latin1');
      out += w; last = { tok: false, text: w === '.' ? '.' : 'word' };
    } else {
      out += String.fromCharCode(c); i++;
      if (!/\s/.test(String.fromCharCode(c))) last = { tok: false, text: String.fromCharCode(c) };
    }
  }
  return out;
}
