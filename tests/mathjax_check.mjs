// Compile TeX formulas with the real MathJax 3 TeX input jax and report TeX errors.
//
// Used by tests/test_notebook_math.py; not meant to be run by hand, but you can:
//   echo '[{"id": 0, "tex": "\\frac{a}{b", "display": false}]' \
//     | node tests/mathjax_check.mjs .cache/node/node_modules
//
// argv[2]: the node_modules folder that holds mathjax-full (default: <repo>/.cache/node/node_modules).
// stdin:   JSON array of {"id": any, "tex": string, "display": bool}.
// stdout:  JSON {"version", "packages", "results": [{"id", "ok", "error", "errorId"}]}.
//
// The TeX configuration mirrors JupyterLab 4's @jupyterlab/mathjax-extension
// (packages = AllPackages + 'require') except that 'noerrors' and 'noundefined'
// are left out, so that every TeX error (including undefined macros) is reported
// instead of being rendered as red text.  formatError re-throws the TexError so
// that nothing is silently turned into an <merror> node.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modulesDir = resolve(process.argv[2] || join(here, '..', '.cache', 'node', 'node_modules'));
const require = createRequire(join(modulesDir, '_mathjax_check_resolver.js'));

const { mathjax } = require('mathjax-full/js/mathjax.js');
const { TeX } = require('mathjax-full/js/input/tex.js');
const { CHTML } = require('mathjax-full/js/output/chtml.js');
const { liteAdaptor } = require('mathjax-full/js/adaptors/liteAdaptor.js');
const { RegisterHTMLHandler } = require('mathjax-full/js/handlers/html.js');
const { STATE } = require('mathjax-full/js/core/MathItem.js');
const { AllPackages } = require('mathjax-full/js/input/tex/AllPackages.js');
require('mathjax-full/js/input/tex/require/RequireConfiguration.js');
const { VERSION } = require('mathjax-full/js/components/version.js');

const packages = AllPackages.concat('require').filter((p) => p !== 'noerrors' && p !== 'noundefined');

RegisterHTMLHandler(liteAdaptor());

function makeDocument() {
  // A fresh document (and TeX jax) per formula, so that \newcommand, \label or
  // \tag state from one formula cannot leak into the next one.
  const tex = new TeX({
    packages,
    formatError: (jax, err) => {
      throw err;
    },
  });
  // An output jax is attached (as in JupyterLab) because some packages, e.g.
  // bussproofs, refuse to configure without one; conversion stops at
  // STATE.CONVERT (TeX -> internal MathML), so no layout is ever done.
  return mathjax.document('', { InputJax: tex, OutputJax: new CHTML() });
}

const items = JSON.parse(readFileSync(0, 'utf8'));
const results = items.map(({ id, tex, display }) => {
  try {
    makeDocument().convert(tex, { display: !!display, end: STATE.CONVERT });
    return { id, ok: true, error: null, errorId: null };
  } catch (err) {
    // TexError has .id (e.g. 'UndefinedControlSequence') and .message;
    // MathJax "retry" errors (asynchronous \require loads) also end up here.
    return { id, ok: false, error: String((err && err.message) || err), errorId: (err && err.id) || null };
  }
});

process.stdout.write(JSON.stringify({ version: VERSION, packages, results }));
