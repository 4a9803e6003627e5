'use strict';
// Read a provisioning script written by `otasign device add` without running
// it: the files it stages, reassembled from its pieces, by the Storage name
// they are installed as, with the length and SHA-256 the script checks.
//
//   const { scriptFiles } = require('../espruino-upload/script');
//   const f = scriptFiles(fs.readFileSync('ID.provision.js', 'latin1'));
//   JSON.parse(f['ota.cfg'].data.toString('latin1'))
//
// Format (cli/cmd_device.c): manifest lines [".otapN","NAME",LEN,"SHA256 base64"]
// inside otaC(), and piece lines
// require("Storage").write(".otapN","LITERAL",OFFSET,LEN);otaW(SENT)
// where LITERAL escapes only " \ \n and bytes outside printable ASCII (\xHH).

function unescape(lit) {
  const out = [];
  for (let i = 0; i < lit.length; i++) {
    const c = lit[i];
    if (c !== '\\') { out.push(c.charCodeAt(0)); continue; }
    const n = lit[++i];
    if (n === 'n') out.push(10);
    else if (n === 'x') { out.push(parseInt(lit.substr(i + 1, 2), 16)); i += 2; }
    else out.push(n.charCodeAt(0));
  }
  return Buffer.from(out);
}

function scriptFiles(text) {
  const man = {};
  const reMan = /^\["(\.otap\d+)","([^"]*)",(\d+),"([A-Za-z0-9+/=]{44})"\][,;\]]*$/;
  const rePiece = /^require\("Storage"\)\.write\("(\.otap\d+)","((?:[^"\\]|\\.)*)",(\d+),(\d+)\);otaW\(\d+\)$/;
  const staged = {};
  for (const line of text.split('\n')) {
    let m = reMan.exec(line);
    if (m) { man[m[1]] = { name: m[2], len: +m[3], sha: m[4] }; continue; }
    m = rePiece.exec(line);
    if (m) {
      const f = staged[m[1]] || (staged[m[1]] = Buffer.alloc(+m[4], 0xff));
      unescape(m[2]).copy(f, +m[3]);
    }
  }
  const files = {};
  for (const k of Object.keys(man)) files[man[k].name] = Object.assign({ data: staged[k] || Buffer.alloc(0) }, man[k]);
  return files;
}

module.exports = { scriptFiles };
