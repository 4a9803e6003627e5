// espruino-find.mjs: where the real Espruino interpreter is for the tests:
// $ESPRUINO (the directory holding `espruino`, or the binary itself), else
// ../shared/espruino/bin/espruino from the repository top; otherwise
// {missing: reason} and the caller prints one "skipped" line ({wrong: true}
// when ESPRUINO is set but names no interpreter: the caller fails).
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './lib.mjs';

export function findEspruino() {
  const env = process.env.ESPRUINO;
  if (env) {
    const p = existsSync(env) && statSync(env).isDirectory() ? join(env, 'espruino') : env;
    return existsSync(p) ? p : { wrong: true, missing: `ESPRUINO=${env}: no espruino binary there` };
  }
  const p = resolve(ROOT, '../shared/espruino/bin/espruino');
  if (existsSync(p)) return p;
  return { missing: 'no Espruino interpreter: set ESPRUINO to the directory of an espruino binary built from espruino/Espruino 2v29 (or put it in ../shared/espruino/bin/)' };
}

