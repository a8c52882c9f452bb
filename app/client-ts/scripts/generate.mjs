// Renders idl/ballast.json into src/generated with Codama (@solana/kit client).
//   node scripts/generate.mjs          regenerate src/generated
//   node scripts/generate.mjs --check  fail if src/generated differs from a fresh render
// Rendering goes to a scratch package first, so --check never touches the tree.
import { mkdtempSync, readFileSync, readdirSync, rmSync, cpSync, copyFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFromRoot } from 'codama';
import { rootNodeFromAnchor } from '@codama/nodes-from-anchor';
import { renderVisitor } from '@codama/renderers-js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const idlPath = join(pkg, '..', '..', 'idl', 'ballast.json');
const generated = join(pkg, 'src', 'generated');
const check = process.argv.includes('--check');

const scratch = mkdtempSync(join(tmpdir(), 'ballast-codama-'));
try {
  // The renderer reads package.json (dependency check, prettier config): give it ours.
  copyFileSync(join(pkg, 'package.json'), join(scratch, 'package.json'));
  const codama = createFromRoot(rootNodeFromAnchor(JSON.parse(readFileSync(idlPath, 'utf8'))));
  await codama.accept(
    renderVisitor(join(scratch, 'src', 'generated'), {
      packageFolder: scratch,
      syncPackageJson: false,
      // Fixed formatting, whatever prettier config a developer has around.
      prettierOptions: { printWidth: 120, singleQuote: true, semi: true, trailingComma: 'all', tabWidth: 2 },
    }),
  );
  const fresh = join(scratch, 'src', 'generated');
  if (check) {
    const diff = compareTrees(fresh, generated);
    if (diff.length > 0) {
      console.error(`src/generated is out of date with idl/ballast.json (${diff.join(', ')}); run npm run generate`);
      process.exit(1);
    }
    console.log('src/generated is up to date with idl/ballast.json');
  } else {
    rmSync(generated, { recursive: true, force: true });
    cpSync(fresh, generated, { recursive: true });
    console.log(`rendered ${relative(pkg, idlPath)} into ${relative(pkg, generated)}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** Relative paths that differ between two directory trees (missing on either side, or changed). */
function compareTrees(a, b) {
  const files = (root) => (existsSync(root) ? walk(root).map((f) => relative(root, f)) : []);
  const left = new Set(files(a));
  const right = new Set(files(b));
  const out = [];
  for (const f of new Set([...left, ...right])) {
    if (!left.has(f)) out.push(`${f} should not exist`);
    else if (!right.has(f)) out.push(`${f} missing`);
    else if (!readFileSync(join(a, f)).equals(readFileSync(join(b, f)))) out.push(`${f} changed`);
  }
  return out.sort();
}

function walk(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
}
