/**
 * Every program in README.md type-checks against the real API.
 *
 * Each ```ts block whose first code line is an `import` is a full program. The
 * blocks under the "Effect 3" heading are compiled as virtual files in
 * effect3/, so that `effect` and `@effect/platform` resolve to the Effect 3
 * workspace's node_modules and `effect-netpoll/effect3` to effect3/dist/; all
 * the others as virtual files at the repository root, where `effect` is
 * Effect 4 and `effect-netpoll` resolves to dist/ (the package's own name and
 * exports). Both use the root tsconfig's compiler options, so an unused import
 * or a wrong signature fails here with its position in README.md.
 *
 * The declarations come from the build: `npm test` builds before it runs this;
 * on its own, run `npm run build` first.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const readmePath = Path.join(root, "README.md")

type Line = "effect4" | "effect3"

interface Snippet {
  readonly line: Line
  /** The 1-based README line of the snippet's first code line. */
  readonly start: number
  readonly code: string
}

/** The ```ts blocks of the README, each with the Effect line its section is about. */
const extract = (markdown: string): { readonly programs: Array<Snippet>; readonly fragments: Array<Snippet> } => {
  const lines = markdown.split("\n")
  const programs: Array<Snippet> = []
  const fragments: Array<Snippet> = []
  let line: Line = "effect4"
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!
    const heading = /^(#{1,6})\s+(.*)$/.exec(text)
    if (heading !== null && heading[1]!.length <= 2) {
      line = /^Effect 3\b/.test(heading[2]!.trim()) ? "effect3" : "effect4"
      continue
    }
    if (!/^```ts\s*$/.test(text)) {
      // Skip other fenced blocks whole, so a heading-like line inside one is not a heading.
      if (/^```/.test(text)) {
        while (++i < lines.length && !/^```\s*$/.test(lines[i]!));
      }
      continue
    }
    const start = i + 2
    const body: Array<string> = []
    while (++i < lines.length && !/^```\s*$/.test(lines[i]!)) body.push(lines[i]!)
    const code = body.join("\n") + "\n"
    const first = body.find((l) => l.trim() !== "" && !/^\s*(\/\/|\/\*|\*)/.test(l))
    ;(first !== undefined && /^import\b/.test(first) ? programs : fragments).push({ line, start, code })
  }
  return { programs, fragments }
}

/** The root tsconfig's compiler options, as `npm run check` uses them. */
const compilerOptions = (): ts.CompilerOptions => {
  const parsed = ts.getParsedCommandLineOfConfigFile(Path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  if (parsed === undefined) throw new Error("tsconfig.json could not be read")
  return { ...parsed.options, noEmit: true }
}

/**
 * Type-checks the snippets as virtual files in `dir` (never written to disk);
 * returns every diagnostic, those in a snippet mapped to README.md's lines.
 */
const check = (snippets: ReadonlyArray<Snippet>, dir: string): Array<string> => {
  const files = new Map(snippets.map((snippet, i) => [Path.join(dir, `__readme_${snippet.start}_${i}.ts`), snippet]))
  const options = compilerOptions()
  const host = ts.createCompilerHost(options, true)
  const getSourceFile = host.getSourceFile.bind(host)
  const fileExists = host.fileExists.bind(host)
  const readFile = host.readFile.bind(host)
  host.fileExists = (file) => files.has(Path.resolve(file)) || fileExists(file)
  host.readFile = (file) => files.get(Path.resolve(file))?.code ?? readFile(file)
  host.getSourceFile = (file, languageVersion, onError, shouldCreate) => {
    const snippet = files.get(Path.resolve(file))
    return snippet === undefined
      ? getSourceFile(file, languageVersion, onError, shouldCreate)
      : ts.createSourceFile(file, snippet.code, languageVersion, true)
  }
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host })
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    const file = diagnostic.file
    if (file === undefined || diagnostic.start === undefined) return `error TS${diagnostic.code}: ${message}`
    const { character, line } = file.getLineAndCharacterOfPosition(diagnostic.start)
    const snippet = files.get(Path.resolve(file.fileName))
    const where = snippet === undefined
      ? `${Path.relative(root, file.fileName)}:${line + 1}:${character + 1}`
      : `README.md:${snippet.start + line}:${character + 1}`
    return `${where} error TS${diagnostic.code}: ${message}`
  })
}

/** Fails with the build command when a line's declarations are missing. */
const requireBuild = (declarations: string) => {
  if (!Fs.existsSync(Path.join(root, declarations))) {
    throw new Error(`${declarations} is missing: run \`npm run build\` before this test`)
  }
}

const { fragments, programs } = extract(Fs.readFileSync(readmePath, "utf8"))

describe("README.md", () => {
  it("has programs for both Effect lines, and every ts block is a program", () => {
    expect(programs.filter((snippet) => snippet.line === "effect4").length).toBeGreaterThan(0)
    expect(programs.filter((snippet) => snippet.line === "effect3").length).toBeGreaterThan(0)
    // A ts block that is not a whole program would go unchecked: show it as text instead.
    expect(fragments.map((snippet) => `README.md:${snippet.start}`)).toEqual([])
  })

  it("every Effect 4 program type-checks against dist/ and effect 4", () => {
    requireBuild("dist/index.d.ts")
    const diagnostics = check(programs.filter((snippet) => snippet.line === "effect4"), root)
    expect(diagnostics.join("\n")).toBe("")
  }, 180_000)

  it("every Effect 3 program type-checks against effect3/dist/ and effect 3", () => {
    requireBuild("effect3/dist/index.d.ts")
    const diagnostics = check(programs.filter((snippet) => snippet.line === "effect3"), Path.join(root, "effect3"))
    expect(diagnostics.join("\n")).toBe("")
  }, 180_000)
})
