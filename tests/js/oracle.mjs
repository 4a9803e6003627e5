// oracle.mjs: decides whether a minifier's output keeps the meaning of its input.
//
// Whitespace mode (otasign minify --no-mangle):
//   * both texts parse with acorn as scripts (latest ECMAScript, sloppy mode);
//   * the two ASTs are identical once positions are stripped, including every
//     literal's raw text, template raw text, regex source and directives;
//   * the two token sequences (comments excluded) are identical: same token
//     types and the same source text for every token.  This is what keeps the
//     meaning on Espruino too: its lexer sees the same tokens, and no ';' is
//     added where the input relied on a line break (ASI).  The one token
//     that may go is a ';' right before '}' or the end of the input, except
//     the ';' of a `return` that ends a function body or the input (Espruino
//     parses a body without its '}': `return` then end of input throws).
// Mangle mode (otasign minify):
//   * the ASTs are identical except for the names of identifiers that refer
//     to local bindings, and a shorthand property `{a}` may become `{a:x}`;
//   * a scope analysis of each text resolves every identifier; the original's
//     bindings and the output's must correspond one to one (a bijection), and
//     every reference must resolve to the corresponding binding;
//   * names that cannot change keep their text: globals (undeclared names and
//     top-level declarations), property names, `arguments`, every binding
//     visible from a direct eval() call, every name looked up through a `with`;
//   * Espruino's own scoping is analysed too, and the output must not merge
//     names the input keeps apart there nor rename what is a global there: for
//     a target before 2v14 let/const/class act like var (no name reused across
//     sibling blocks in one function where the input had two names, and a
//     let/const/class in a top-level block is a global); for 2v14 and later
//     (the default target, 2v29) let/const are block scoped but a switch body
//     is no block and class/function declarations go to the function or
//     global scope (see analyze, mode 'espruino');
//   * the token sequences match except for identifier names (and the `:x`
//     added to an expanded shorthand), so no ';' is added, nor removed except
//     right before '}' or the end, as in whitespace mode.
//
// API: compare(origSrc, outSrc, {mangle, allowReturn, target}) -> array of problem
// strings (empty: the output is correct).  CLI:
//   node tests/js/oracle.mjs [--mangle] [--allow-return] ORIG OUT
import * as acorn from 'acorn';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const POSITION_KEYS = new Set(['start', 'end', 'loc', 'range']);
const MAX_PROBLEMS = 5;

function parseOpts(allowReturn, tokens, comments) {
  return {
    ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true,
    allowReturnOutsideFunction: !!allowReturn, locations: false,
    onToken: tokens, onComment: comments,
  };
}

// Parse a text; returns {ast, tokens} or {error}.
export function parseScript(src, allowReturn) {
  const tokens = [];
  try {
    const ast = acorn.parse(src, parseOpts(allowReturn, tokens, []));
    return { ast, tokens };
  } catch (e) {
    return { error: e.message };
  }
}

function where(src, pos) {
  if (pos === undefined || pos === null) return '?';
  const li = acorn.getLineInfo(src, pos);
  return `${li.line}:${li.column + 1}`;
}

function snippet(src, pos) {
  if (pos === undefined || pos === null) return '';
  const s = src.slice(Math.max(0, pos - 30), pos + 30);
  return JSON.stringify(s);
}

// ---------------------------------------------------------------------------
// Scope analysis.  Produces, for every Identifier node, what it is:
//   {kind:'prop'}    a property name (member, object key, method name)
//   {kind:'fixed'}   part of new.target / import.meta
//   {kind:'label', binding}  a statement label
//   {kind:'ref', binding}    a name resolved to a binding (declaration or use)
// Bindings carry `global` (undeclared, or declared at top level: the name is
// visible to other scripts) and `keep` (its name must not change).
// mode 'es' (default): ECMAScript scoping.
// mode 'legacy': let/const/class and block functions are scoped like var
// (Espruino firmware before 2v14, and boards built with SAVE_ON_FLASH).
// mode 'espruino': Espruino 2v14 and later (jsparse.c): let/const belong to
// the innermost block that Espruino starts a scope for (a `{}` block, a
// `for`, a function body: jspeBlockStart), so a let/const in a switch body
// belongs to the block around the switch (or is a global at top level);
// class and function declarations go to the function or global scope even
// inside a block (jspeStatementFunctionDecl: baseScope).

let bindingSeq = 0;
class Binding {
  constructor(name, kind) {
    this.name = name; this.kind = kind; this.id = ++bindingSeq;
    this.global = false; this.keep = false; this.annex = false;
  }
}

class Scope {
  constructor(kind, parent, strict) {
    this.kind = kind; this.parent = parent; this.strict = strict;
    this.vars = new Map(); this.evalTaint = false;
    this.fn = (kind === 'function' || kind === 'global') ? this : parent.fn;
  }
}

function hasUseStrict(body) {
  for (const st of body) {
    if (st.type !== 'ExpressionStatement' || typeof st.directive !== 'string') break;
    if (st.directive === 'use strict') return true;
  }
  return false;
}

function patternNames(p, out) {
  if (!p) return out;
  switch (p.type) {
    case 'Identifier': out.push(p.name); break;
    case 'ObjectPattern':
      for (const pr of p.properties) patternNames(pr.type === 'RestElement' ? pr.argument : pr.value, out);
      break;
    case 'ArrayPattern': for (const e of p.elements) patternNames(e, out); break;
    case 'RestElement': patternNames(p.argument, out); break;
    case 'AssignmentPattern': patternNames(p.left, out); break;
    default: break;
  }
  return out;
}

export function analyze(ast, { mode = 'es' } = {}) {
  const legacy = mode === 'legacy', esp = mode === 'espruino';
  const info = new Map();
  const globals = new Map();
  const scopes = [];
  let labels = [];

  function newScope(kind, parent, strict) {
    const s = new Scope(kind, parent, strict);
    scopes.push(s);
    return s;
  }
  function declare(scope, name, kind) {
    let b = scope.vars.get(name);
    if (b) return b;
    b = new Binding(name, kind);
    if (scope.kind === 'global') { b.global = true; b.keep = true; }
    scope.vars.set(name, b);
    return b;
  }
  function resolve(name, scope) {
    let crossedWith = false;
    for (let s = scope; s; s = s.parent) {
      if (s.kind === 'with') { crossedWith = true; continue; }
      const b = s.vars.get(name);
      if (b) { if (crossedWith) b.keep = true; return b; }
    }
    let g = globals.get(name);
    if (!g) { g = new Binding(name, 'implicit'); g.global = g.keep = true; globals.set(name, g); }
    return g;
  }
  function ref(id, scope) { info.set(id, { kind: 'ref', binding: resolve(id.name, scope) }); }
  function prop(id) { if (id && id.type === 'Identifier') info.set(id, { kind: 'prop' }); }

  // var-scoped names of a function body: recurse into statements, not functions.
  function hoistVars(st, fs, inBlock) {
    if (!st) return;
    switch (st.type) {
      case 'VariableDeclaration':
        if (st.kind === 'var' || legacy)
          for (const d of st.declarations) for (const n of patternNames(d.id, [])) declare(fs, n, st.kind);
        return;
      case 'FunctionDeclaration': {
        const name = st.id.name;
        if (!inBlock || legacy || esp) { declare(fs, name, 'function'); return; }
        if (fs.strict) return;
        // Annex B.3.3: a block function in sloppy code also gets a var binding.
        const b = fs.vars.get(name);
        if (!b) declare(fs, name, 'annexb').annex = true;
        else if (b.kind === 'var' || b.kind === 'function' || b.kind === 'annexb') b.annex = true;
        return;
      }
      case 'ClassDeclaration': if (legacy || esp) declare(fs, st.id.name, 'class'); return;
      case 'BlockStatement': for (const s of st.body) hoistVars(s, fs, true); return;
      case 'IfStatement': hoistVars(st.consequent, fs, true); hoistVars(st.alternate, fs, true); return;
      case 'ForStatement': hoistVars(st.init, fs, true); hoistVars(st.body, fs, true); return;
      case 'ForInStatement': case 'ForOfStatement':
        hoistVars(st.left, fs, true); hoistVars(st.body, fs, true); return;
      case 'WhileStatement': case 'DoWhileStatement': case 'WithStatement':
        hoistVars(st.body, fs, true); return;
      case 'LabeledStatement': hoistVars(st.body, fs, inBlock); return;
      case 'TryStatement':
        hoistVars(st.block, fs, true);
        if (st.handler) hoistVars(st.handler.body, fs, true);
        hoistVars(st.finalizer, fs, true);
        return;
      case 'SwitchStatement':
        for (const c of st.cases) for (const s of c.consequent) hoistVars(s, fs, true);
        return;
      default: return;
    }
  }

  // Lexically scoped declarations directly in a statement list.
  function hoistLexical(list, scope) {
    if (legacy) return;
    if (esp) {
      const names = [];
      for (const st of list) espLexicals(st, names, true);
      for (const [n, kind] of names) declare(scope, n, kind);
      return;
    }
    for (const st0 of list) {
      let st = st0;
      while (st && st.type === 'LabeledStatement') st = st.body;
      if (!st) continue;
      if (st.type === 'VariableDeclaration' && st.kind !== 'var') {
        for (const d of st.declarations) for (const n of patternNames(d.id, [])) declare(scope, n, st.kind);
      } else if (st.type === 'ClassDeclaration') {
        declare(scope, st.id.name, 'class');
      } else if (st.type === 'FunctionDeclaration' && scope.kind === 'block') {
        const name = st.id.name;
        const fb = scope.fn.vars.get(name);
        if (!scope.strict && fb && fb.annex && !lexicalBetween(scope.parent, scope.fn, name)) {
          if (!scope.vars.has(name)) scope.vars.set(name, fb);
        } else {
          declare(scope, name, 'function');
        }
      }
    }
  }
  // Espruino 2v14+: the let/const of a statement that belong to the scope it
  // is in: its own (top: the statement is directly in the list), and those in
  // switch bodies and other statements that start no block.
  function espLexicals(st, out, top) {
    if (!st) return;
    switch (st.type) {
      case 'VariableDeclaration':
        if (st.kind !== 'var' && top) for (const d of st.declarations) for (const n of patternNames(d.id, [])) out.push([n, st.kind]);
        return;
      case 'SwitchStatement':
        for (const c of st.cases) for (const s of c.consequent) espLexicals(s, out, true);
        return;
      case 'IfStatement': espLexicals(st.consequent, out, false); espLexicals(st.alternate, out, false); return;
      case 'WhileStatement': case 'DoWhileStatement': case 'WithStatement': case 'LabeledStatement':
        espLexicals(st.body, out, st.type === 'LabeledStatement' && top);
        return;
      default: return;
    }
  }
  function lexicalBetween(from, fnScope, name) {
    for (let s = from; s && s !== fnScope; s = s.parent) {
      const b = s.vars.get(name);
      if (b && !b.annex) return true;
    }
    return false;
  }

  function visitStatements(list, scope) { for (const s of list) visit(s, scope); }

  function visitFunction(node, outer) {
    const body = node.body;
    const blockBody = body.type === 'BlockStatement';
    const fs = newScope('function', outer, outer.strict || (blockBody && hasUseStrict(body.body)));
    const saved = labels; labels = [];
    for (const p of node.params) for (const n of patternNames(p, [])) declare(fs, n, 'param');
    // The implicit `arguments` (its name is what reaches the object, so it is
    // kept) exists unless a parameter, a lexical declaration or a function
    // declaration of the body is called `arguments`; `var arguments` is it.
    const lexArguments = blockBody && body.body.some((st) =>
      (st.type === 'FunctionDeclaration' || st.type === 'ClassDeclaration') && st.id.name === 'arguments' ||
      (st.type === 'VariableDeclaration' && st.kind !== 'var' &&
       st.declarations.some((d) => patternNames(d.id, []).includes('arguments'))));
    if (node.type !== 'ArrowFunctionExpression' && !fs.vars.has('arguments') && !lexArguments)
      declare(fs, 'arguments', 'arguments').keep = true;
    // With default values or patterns in the parameters, the body's
    // declarations live in a scope of their own that the parameter
    // expressions cannot see; a body `var` named like a parameter starts with
    // its value, so it is kept as the same binding.
    let bodyScope = fs;
    if (node.params.some((p) => p.type !== 'Identifier')) {
      bodyScope = newScope('function', fs, fs.strict);
      for (const [n, b] of fs.vars) bodyScope.vars.set(n, b);
    }
    if (blockBody) {
      hoistLexical(body.body, bodyScope);
      for (const s of body.body) hoistVars(s, bodyScope, false);
    }
    for (const p of node.params) visit(p, fs);
    if (blockBody) visitStatements(body.body, bodyScope); else visit(body, bodyScope);
    labels = saved;
  }

  function visitClass(node, scope) {
    if (node.type === 'ClassDeclaration') ref(node.id, scope);
    const cs = newScope('class', scope, true);
    if (node.id) {
      declare(cs, node.id.name, 'classname');
      if (node.type === 'ClassExpression') ref(node.id, cs);
    }
    visit(node.superClass, cs);
    for (const el of node.body.body) {
      if (el.type === 'StaticBlock') {
        const fs = newScope('function', cs, true);
        const saved = labels; labels = [];
        hoistLexical(el.body, fs);
        for (const s of el.body) hoistVars(s, fs, false);
        visitStatements(el.body, fs);
        labels = saved;
        continue;
      }
      if (el.computed) visit(el.key, cs); else prop(el.key);
      visit(el.value, cs);
    }
  }

  function visitChildren(node, scope) {
    for (const key in node) {
      if (POSITION_KEYS.has(key) || key === 'type') continue;
      const v = node[key];
      if (Array.isArray(v)) { for (const c of v) if (c && typeof c.type === 'string') visit(c, scope); }
      else if (v && typeof v === 'object' && typeof v.type === 'string') visit(v, scope);
    }
  }

  function visit(node, scope) {
    if (!node) return;
    switch (node.type) {
      case 'Identifier': ref(node, scope); return;
      case 'FunctionDeclaration': ref(node.id, scope); visitFunction(node, scope); return;
      case 'FunctionExpression':
        if (node.id) {
          const ns = newScope('fname', scope, scope.strict);
          declare(ns, node.id.name, 'fname');
          ref(node.id, ns);
          visitFunction(node, ns);
        } else visitFunction(node, scope);
        return;
      case 'ArrowFunctionExpression': visitFunction(node, scope); return;
      case 'ClassDeclaration': case 'ClassExpression': visitClass(node, scope); return;
      case 'MemberExpression':
        visit(node.object, scope);
        if (node.computed) visit(node.property, scope); else prop(node.property);
        return;
      case 'Property':
        if (node.computed) visit(node.key, scope); else prop(node.key);
        visit(node.value, scope);
        return;
      case 'MetaProperty':
        info.set(node.meta, { kind: 'fixed' }); info.set(node.property, { kind: 'fixed' });
        return;
      case 'LabeledStatement': {
        const b = new Binding(node.label.name, 'label');
        info.set(node.label, { kind: 'label', binding: b });
        labels.push(b);
        visit(node.body, scope);
        labels.pop();
        return;
      }
      case 'BreakStatement': case 'ContinueStatement':
        if (node.label) {
          let b = null;
          for (let i = labels.length - 1; i >= 0; i--) if (labels[i].name === node.label.name) { b = labels[i]; break; }
          info.set(node.label, { kind: 'label', binding: b || new Binding(node.label.name, 'label') });
        }
        return;
      case 'BlockStatement': {
        const bs = newScope('block', scope, scope.strict);
        hoistLexical(node.body, bs);
        visitStatements(node.body, bs);
        return;
      }
      case 'StaticBlock': return; // handled in visitClass
      case 'SwitchStatement': {
        visit(node.discriminant, scope);
        const bs = newScope('block', scope, scope.strict);
        const all = [];
        for (const c of node.cases) all.push(...c.consequent);
        if (!esp) hoistLexical(all, bs);   // esp: declared with the enclosing scope
        for (const c of node.cases) { visit(c.test, bs); visitStatements(c.consequent, bs); }
        return;
      }
      case 'ForStatement': {
        const fs = newScope('block', scope, scope.strict);
        if (node.init && node.init.type === 'VariableDeclaration') hoistLexical([node.init], fs);
        if (esp) { const names = []; espLexicals(node.body, names, false); for (const [n, k] of names) declare(fs, n, k); }
        visit(node.init, fs); visit(node.test, fs); visit(node.update, fs); visit(node.body, fs);
        return;
      }
      case 'ForInStatement': case 'ForOfStatement': {
        const fs = newScope('block', scope, scope.strict);
        if (node.left.type === 'VariableDeclaration') hoistLexical([node.left], fs);
        if (esp) { const names = []; espLexicals(node.body, names, false); for (const [n, k] of names) declare(fs, n, k); }
        visit(node.left, fs); visit(node.right, fs); visit(node.body, fs);
        return;
      }
      case 'CatchClause': {
        const cs = newScope('catch', scope, scope.strict);
        for (const n of patternNames(node.param, [])) declare(cs, n, 'catch');
        visit(node.param, cs);
        visit(node.body, cs);
        return;
      }
      case 'WithStatement': {
        visit(node.object, scope);
        visit(node.body, newScope('with', scope, scope.strict));
        return;
      }
      case 'CallExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'eval') {
          ref(node.callee, scope);
          if (info.get(node.callee).binding.global) {
            for (let s = scope; s; s = s.parent) s.evalTaint = true;
          }
          for (const a of node.arguments) visit(a, scope);
          return;
        }
        visitChildren(node, scope);
        return;
      default:
        visitChildren(node, scope);
    }
  }

  const top = newScope('global', null, hasUseStrict(ast.body));
  hoistLexical(ast.body, top);
  for (const s of ast.body) hoistVars(s, top, false);
  visitStatements(ast.body, top);
  for (const s of scopes) if (s.evalTaint) for (const b of s.vars.values()) b.keep = true;
  return info;
}

// ---------------------------------------------------------------------------
// Comparison.

// Options: mangle (mangle mode), allowReturn (top-level `return`, for the
// fixture cases).  Only to validate the oracle itself against a minifier that
// is known to differ in these ways: tokens:false skips the token comparison,
// raw:false ignores literal raw text, legacy:false skips the Espruino scoping check.
// target: the firmware the output is for (229 = 2v29, the minifier's default):
// the Espruino scoping check models firmware before 2v14 (let as var) when
// target < 214, else Espruino 2v14+ (analyze mode 'espruino').
export function compare(origSrc, outSrc, { mangle = false, allowReturn = false,
                                           tokens = true, raw = true, legacy = true, target = 229 } = {}) {
  const emode = target < 214 ? 'legacy' : 'espruino';
  const ename = target < 214 ? 'with let scoped like var (firmware before 2v14)' : 'with Espruino 2v14+ scoping';
  const problems = [];
  const o = parseScript(origSrc, allowReturn);
  if (o.error) return [`input does not parse: ${o.error}`];
  const p = parseScript(outSrc, allowReturn);
  if (p.error) return [`output does not parse: ${p.error}`];

  const ctx = mangle ? {
    o: analyze(o.ast), p: analyze(p.ast),
    ol: legacy ? analyze(o.ast, { mode: emode }) : null,
    pl: legacy ? analyze(p.ast, { mode: emode }) : null,
    fwd: new Map(), back: new Map(), legacy: new Map(), legacyBack: new Map(), skip: [],
  } : null;

  function fail(a, b, what) {
    if (problems.length >= MAX_PROBLEMS) { problems.truncated = true; return; }
    const pa = a && typeof a.start === 'number' ? a.start : undefined;
    const pb = b && typeof b.start === 'number' ? b.start : undefined;
    problems.push(`AST differs (${what}) at input ${where(origSrc, pa)} ${snippet(origSrc, pa)}` +
                  ` / output ${where(outSrc, pb)} ${snippet(outSrc, pb)}`);
  }

  function identPair(a, b) {
    if (!mangle) { if (a.name !== b.name) fail(a, b, `name ${a.name} -> ${b.name}`); return; }
    const ia = ctx.o.get(a), ib = ctx.p.get(b);
    const ka = ia ? ia.kind : 'fixed', kb = ib ? ib.kind : 'fixed';
    if (ka !== kb) { fail(a, b, `identifier role ${ka} -> ${kb}`); return; }
    if (ka === 'prop' || ka === 'fixed') {
      if (a.name !== b.name) fail(a, b, `property/fixed name ${a.name} -> ${b.name}`);
      return;
    }
    const A = ia.binding, B = ib.binding;
    if (ka === 'ref' && (A.global || B.global)) {
      if (!(A.global && B.global && a.name === b.name))
        fail(a, b, `global ${A.global ? a.name : b.name} ${A.global ? 'renamed or captured' : 'introduced'} (${a.name} -> ${b.name})`);
      return;
    }
    const fa = ctx.fwd.get(A), bb = ctx.back.get(B);
    if (fa === undefined && bb === undefined) { ctx.fwd.set(A, B); ctx.back.set(B, A); }
    else if (fa !== B || bb !== A) {
      fail(a, b, `inconsistent renaming: ${a.name} -> ${b.name}` +
           (fa !== undefined && fa !== B ? ` (${a.name} was renamed ${fa.name} elsewhere)` : '') +
           (bb !== undefined && bb !== A ? ` (${b.name} already stands for ${bb.name})` : ''));
      return;
    }
    if ((A.keep || B.keep) && a.name !== b.name)
      fail(a, b, `${a.name} must keep its name (global, arguments, eval or with) but became ${b.name}`);
    if (ka === 'ref' && legacy) {
      const la = ctx.ol.get(a).binding, lb = ctx.pl.get(b).binding;
      if ((la.global || lb.global) && a.name !== b.name) {
        fail(a, b, `${a.name} renamed ${b.name}, but ${ename} it is a global`);
        return;
      }
      const prev = ctx.legacy.get(lb), prevb = ctx.legacyBack.get(la);
      if (prev === undefined) ctx.legacy.set(lb, la);
      else if (prev !== la)
        fail(a, b, `name ${b.name} reused: ${ename} it merges ` +
                   `${prev.name} and ${la.name}, which the input keeps apart`);
      if (prevb === undefined) ctx.legacyBack.set(la, lb);
      else if (prevb !== lb)
        fail(a, b, `${a.name} split: ${ename} ${la.name} is one variable in the input but ` +
                   `${prevb.name} and ${lb.name} in the output`);
    }
  }

  // na, nb: the nearest enclosing nodes (for the error position).
  function eq(a, b, path, na, nb) {
    if (problems.length >= MAX_PROBLEMS) return;
    if (a === b) return;
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
      fail(na, nb, `${path}: ${JSON.stringify(String(a))} vs ${JSON.stringify(String(b))}`);
      return;
    }
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || a.length !== b.length) { fail(na, nb, `${path}: list length`); return; }
      for (let i = 0; i < a.length; i++) eq(a[i], b[i], `${path}[${i}]`, na, nb);
      return;
    }
    if (typeof a.type === 'string') { na = a; nb = b; }
    if (a instanceof RegExp || b instanceof RegExp) return; // compared through node.regex
    if (a.type !== b.type) { fail(a, b, `${path}: ${a.type} vs ${b.type}`); return; }
    if (a.type === 'Identifier') { identPair(a, b); return; }
    let shorthandExpanded = false;
    if (a.type === 'Property' && a.shorthand !== b.shorthand) {
      if (mangle && a.shorthand && !b.shorthand) shorthandExpanded = true;
      else { fail(a, b, `${path}: shorthand ${a.shorthand} -> ${b.shorthand}`); return; }
    }
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      if (POSITION_KEYS.has(k) || k === 'type') continue;
      if (shorthandExpanded && k === 'shorthand') continue;
      if (k === 'value' && a.type === 'Literal' && a.regex) continue;
      if (!raw && k === 'raw') continue;
      if (!raw && k === 'directive') continue;
      eq(a[k], b[k], `${path}.${k}`, na, nb);
    }
    if (shorthandExpanded) {
      const id = b.value.type === 'AssignmentPattern' ? b.value.left : b.value;
      ctx.skip.push([b.key.end, id.start]);
    }
  }

  eq(o.ast, p.ast, 'Program', o.ast, p.ast);
  if (problems.length || !tokens) return problems;

  // Token sequences.
  const ta = o.tokens, tb = p.tokens;
  // Espruino stores a function body as its text without the closing '}' and
  // parses it at each call: a `return` that ends that text (or the whole
  // input) reads the end of input as its expression and throws "Unexpected
  // end of Input".  So the ';' of `return;` may not go before a function
  // body's '}' or the end, unless that `return` is the body's first token
  // (then Espruino skips it and stores nothing after it).
  const fnBody = new Map();   // position of a function body's '}' -> its first statement's start
  (function scan(node) {
    if (!node || typeof node.type !== 'string') return;
    if (/Function/.test(node.type) && node.body && node.body.type === 'BlockStatement')
      fnBody.set(node.body.end - 1, node.body.body.length ? node.body.body[0].start : -1);
    for (const key of Object.keys(node)) {
      const v = node[key];
      if (Array.isArray(v)) v.forEach(scan);
      else if (v && typeof v.type === 'string') scan(v);
    }
  })(o.ast);
  const returnEndsBody = (r, close) => r && r.type.label === 'return' &&
    (close.type.label === 'eof' || (fnBody.has(close.start) && fnBody.get(close.start) !== r.start));
  const skip = mangle ? ctx.skip.sort((x, y) => x[0] - y[0]) : [];
  let i = 0, j = 0, k = 0;
  const tokText = (src, t) => src.slice(t.start, t.end);
  while (i < ta.length || j < tb.length) {
    const b = tb[j];
    if (b && k < skip.length) {
      while (k < skip.length && skip[k][1] < b.start) k++;
      if (k < skip.length && b.start >= skip[k][0] && b.start <= skip[k][1]) { j++; continue; }
    }
    const a = ta[i];
    // A ';' just before '}' or the end of the input may go (`{return x;}` ->
    // `{return x}`): the AST comparison has already made sure it ended a
    // statement rather than being an empty statement.
    // So may a run of them (`class A{x=1;;}` -> `class A{x=1}`): the run
    // is skipped one ';' at a time, each followed by the rest of the run.
    let m = i;
    while (ta[m] && ta[m].type.label === ';') m++;
    if (a && a.type.label === ';' && (!b || b.type.label !== ';') && ta[m] &&
        (ta[m].type.label === '}' || ta[m].type.label === 'eof')) {
      if (returnEndsBody(ta[i - 1], ta[m])) {
        problems.push(`the ';' of a return that ends a function body was dropped at input ${where(origSrc, a.start)}: ` +
                      'Espruino parses the body without its \'}\' and throws "Unexpected end of Input" at every call');
        break;
      }
      i++; continue;
    }
    if (!a || !b) {
      problems.push(`token sequence length differs (${ta.length} vs ${tb.length})`);
      break;
    }
    // Renamed identifiers may differ; a name that is not renamed keeps its
    // text (an escaped name like \u0061b stays escaped).
    const same = a.type.label === b.type.label &&
      (tokText(origSrc, a) === tokText(outSrc, b) ||
       (mangle && a.type.label === 'name' && a.value !== b.value));
    if (!same) {
      problems.push(`token differs at input ${where(origSrc, a.start)} ${JSON.stringify(tokText(origSrc, a))}` +
                    ` / output ${where(outSrc, b.start)} ${JSON.stringify(tokText(outSrc, b))}`);
      break;
    }
    i++; j++;
  }
  return problems;
}

// CLI
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const mangle = args.includes('--mangle');
  const allowReturn = args.includes('--allow-return');
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length !== 2) {
    console.error('usage: node oracle.mjs [--mangle] [--allow-return] ORIG OUT');
    process.exit(2);
  }
  const probs = compare(readFileSync(files[0], 'utf8'), readFileSync(files[1], 'utf8'), { mangle, allowReturn });
  for (const p of probs) console.log(p);
  console.log(probs.length ? 'MISMATCH' : 'OK');
  process.exit(probs.length ? 1 : 0);
}
