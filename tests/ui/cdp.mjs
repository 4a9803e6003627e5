// tests/ui/cdp.mjs: a small driver for headless Chromium over the DevTools
// protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, messages
// are JSON ended by a NUL byte).  Node built-ins only: no npm package, no
// browser download; Chromium is Debian's package.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function findChromium() {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'])
    if (p && existsSync(p)) return p;
  return null;
}

export class Browser {
  static async launch(exe, { width = 1360, height = 1000 } = {}) {
    const b = new Browser();
    b.profile = mkdtempSync(join(tmpdir(), 'ota-chromium-'));
    // Flags: no sandbox (root), no GPU, and no background networking: this
    // machine has no network, and nothing but loopback may be contacted.
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--no-default-browser-check',
      '--disable-features=Translate,MediaRouter,OptimizationHints', '--hide-scrollbars',
      '--mute-audio', `--window-size=${width},${height}`, `--user-data-dir=${b.profile}`,
      '--remote-debugging-pipe', 'about:blank'];
    b.proc = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    b.stderr = '';
    b.proc.stderr.on('data', (d) => { b.stderr += d; if (b.stderr.length > 20000) b.stderr = b.stderr.slice(-10000); });
    b.out = b.proc.stdio[3];
    b.in = b.proc.stdio[4];
    b.id = 0;
    b.pending = new Map();
    b.listeners = [];
    let buf = Buffer.alloc(0);
    b.in.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let i;
      while ((i = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, i).toString('utf8'));
        buf = buf.subarray(i + 1);
        if (msg.id && b.pending.has(msg.id)) {
          const { resolve, reject, method } = b.pending.get(msg.id);
          b.pending.delete(msg.id);
          if (msg.error) reject(new Error(method + ': ' + msg.error.message));
          else resolve(msg.result);
        } else if (msg.method) {
          for (const l of b.listeners) l(msg);
        }
      }
    });
    b.exited = new Promise((r) => b.proc.on('exit', r));
    await b.send('Browser.getVersion');
    return b;
  }

  send(method, params = {}, sessionId) {
    const id = ++this.id;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.pending.delete(id); reject(new Error(method + ': no answer in 30 s')); }, 30000);
      this.pending.set(id, { resolve: (v) => { clearTimeout(t); resolve(v); },
        reject: (e) => { clearTimeout(t); reject(e); }, method });
      this.out.write(JSON.stringify(msg) + '\0');
    });
  }

  on(fn) { this.listeners.push(fn); }

  async newPage() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    return new Page(this, sessionId);
  }

  async close() {
    try { await this.send('Browser.close'); } catch (e) { /* already gone */ }
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(browser, sessionId) {
    this.b = browser;
    this.s = sessionId;
    this.events = [];
    browser.on((m) => { if (m.sessionId === sessionId) this.events.push(m); });
  }
  send(method, params) { return this.b.send(method, params, this.s); }

  async init() {
    await this.send('Page.enable');
    await this.send('Runtime.enable');
    await this.send('Network.enable');
    await this.send('Log.enable');
  }

  async goto(url) {
    const n = this.events.length;
    await this.send('Page.navigate', { url });
    await this.waitEvent('Page.loadEventFired', n, 20000);
  }

  async waitEvent(method, from = 0, ms = 10000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const e = this.events.slice(from).find((x) => x.method === method);
      if (e) return e;
      await sleep(50);
    }
    throw new Error('no ' + method + ' within ' + ms + ' ms');
  }

  // Evaluate an expression in the page (DevTools evaluation is not subject
  // to the page's CSP); returns its value (awaited when a promise).
  async eval(expr) {
    const r = await this.send('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error('page: ' + (r.exceptionDetails.exception?.description || r.exceptionDetails.text));
    return r.result.value;
  }

  // Wait until expr is truthy; returns its value.
  async waitFor(expr, ms = 15000, what = expr) {
    const end = Date.now() + ms;
    let v;
    while (Date.now() < end) {
      try { v = await this.eval(expr); } catch (e) { v = undefined; }
      if (v) return v;
      await sleep(100);
    }
    throw new Error('timed out waiting for ' + what);
  }

  async type(selector, text) {
    await this.eval(`document.querySelector(${JSON.stringify(selector)}).focus()`);
    await this.send('Input.insertText', { text });
  }

  // A real mouse click in the middle of the element.
  async click(selector) {
    const box = await this.eval(`(() => { const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null; e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
      return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()`);
    if (!box) throw new Error('no element ' + selector);
    for (const type of ['mousePressed', 'mouseReleased'])
      await this.send('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
  }

  async screenshot(path, writeFile) {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true,
      clip: await this.eval(`({x: 0, y: 0, width: document.documentElement.scrollWidth,
        height: Math.min(document.documentElement.scrollHeight, 3000), scale: 1})`) });
    writeFile(path, Buffer.from(data, 'base64'));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
