// Unused exports: every name a module under src/ exports must be used somewhere in the
// project (src, test or bench, as tsconfig.json includes them): imported by another
// module, or used in its own (knip's `ignoreExportsUsedInFile` policy: an export read only
// by its own module is a visibility question, not dead code). An export nothing uses is
// dead code; one used only from outside TypeScript says so with `@public` in its doc
// comment. Run by `make lint`; test/unit/unused-exports.test.ts shows it refuses a
// planted one.
//
// Usage: node scripts/unused-exports.mjs [DIR]   (DIR: the project root, default `.`)
// Exit status 0 when there is none, 1 with one line per unused export (file:line: name).
//
// Uses the TypeScript compiler API (typescript is already a dev dependency): imports are
// resolved by the checker, so renamed imports, `export ... from` and namespace imports count.
import { join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const root = resolve(process.argv[2] ?? ".");
const configPath = join(root, "tsconfig.json");
const config = ts.getParsedCommandLineOfConfigFile(
  configPath,
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      console.error(`cannot read ${configPath}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
      process.exit(2);
    },
  },
);
if (config === undefined) process.exit(2);
const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, noEmit: true } });
const checker = program.getTypeChecker();
const files = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.includes(`${sep}node_modules${sep}`));

/** The symbol a name finally stands for (through imports and re-exports). */
const target = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

/** Whether `id` is the name a declaration gives (not a use of it). */
const isDeclarationName = (id) => {
  const p = id.parent;
  return p !== undefined && "name" in p && p.name === id && ts.isDeclaration(p);
};

const used = new Set();
const useAllOf = (moduleSpecifier) => {
  const m = moduleSpecifier && checker.getSymbolAtLocation(moduleSpecifier);
  if (m) for (const e of checker.getExportsOfModule(m)) used.add(target(e));
};
const useName = (name) => {
  const s = checker.getSymbolAtLocation(name);
  if (s) used.add(target(s));
};

for (const file of files) {
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && node.importClause) {
      const c = node.importClause;
      if (c.name) useName(c.name);
      const b = c.namedBindings;
      if (b && ts.isNamespaceImport(b)) useAllOf(node.moduleSpecifier);
      else if (b) for (const el of b.elements) useName(el.name);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const c = node.exportClause;
      if (c === undefined || ts.isNamespaceExport(c)) useAllOf(node.moduleSpecifier);
      else for (const el of c.elements) useName(el.name);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      useAllOf(node.arguments[0]);
    } else if (ts.isIdentifier(node) && !isDeclarationName(node)) {
      const s = ts.isShorthandPropertyAssignment(node.parent)
        ? checker.getShorthandAssignmentValueSymbol(node.parent)
        : checker.getSymbolAtLocation(node);
      if (s) used.add(target(s));
    } else if (ts.isImportTypeNode(node)) {
      // `import("./x.js").Name` in a type position
      const m = checker.getSymbolAtLocation(node.argument.literal ?? node.argument);
      if (m && node.qualifier) {
        const name = ts.isIdentifier(node.qualifier) ? node.qualifier : node.qualifier.left;
        const e = checker.getExportsOfModule(m).find((x) => x.name === name.text);
        if (e) used.add(target(e));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
}

const srcDir = join(root, "src") + sep;
const unused = [];
for (const file of files) {
  if (!resolve(file.fileName).startsWith(srcDir)) continue;
  const m = checker.getSymbolAtLocation(file);
  if (!m) continue;
  for (const e of checker.getExportsOfModule(m)) {
    if (used.has(e) || used.has(target(e))) continue;
    const decl = e.declarations?.[0];
    // `@public` in its doc comment: used from outside TypeScript (a script, the package)
    if (decl && ts.getJSDocTags(decl).some((t) => t.tagName.text === "public")) continue;
    const at = decl ? decl.getSourceFile() : file;
    const line = decl ? at.getLineAndCharacterOfPosition(decl.getStart()).line + 1 : 1;
    unused.push(`${relative(root, at.fileName)}:${line}: ${e.name}`);
  }
}

if (unused.length > 0) {
  unused.sort();
  for (const u of unused) console.log(`unused export (used by no module): ${u}`);
  process.exit(1);
}
