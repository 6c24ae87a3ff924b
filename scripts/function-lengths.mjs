// function-lengths.mjs [DIR] [N]: the N longest functions under DIR (default src, 40), with their
// line counts, and how many run over 80 and 100 lines (TypeScript compiler API; issue 14.4).
// Anonymous callbacks count on their own, as <anon>.
import ts from "typescript";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
const root = process.argv[2] ?? "src";
const files = [];
(function walk(d) { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith(".ts")) files.push(p); } })(root);
const out = [];
for (const f of files) {
  const text = readFileSync(f, "utf8");
  const sf = ts.createSourceFile(f, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && node.body) {
      const s = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const e = sf.getLineAndCharacterOfPosition(node.end).line;
      let name = node.name ? node.name.getText(sf) : undefined;
      if (!name && node.parent && (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent))) name = node.parent.name.getText(sf);
      out.push({ name: name ?? "<anon>", file: relative(".", f), line: s + 1, lines: e - s + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
out.sort((a, b) => b.lines - a.lines);
const n = Number(process.argv[3] ?? 40);
for (const o of out.slice(0, n)) console.log(String(o.lines).padStart(4), o.name, `${o.file}:${o.line}`);
console.log("over 80:", out.filter((o) => o.lines > 80).length, " over 100:", out.filter((o) => o.lines > 100).length, " total:", out.length);
