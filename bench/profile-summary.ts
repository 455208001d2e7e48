import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ROOT } from './harness.js'

// Summarises V8 CPU profiles (`BENCH_CPU_PROF=1 npm run bench` writes them to bench/results/):
// where the server's time goes, by file and by function, self and inclusive.
//
//   npx tsx bench/profile-summary.ts bench/results/plugin.cpuprofile [--filter lib/] [--top 30]

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

interface Totals {
  self: Map<string, number>
  inclusive: Map<string, number>
  total: number
}

function where (frame: CallFrame): string {
  if (frame.url === '') return `(${frame.functionName === '' ? 'native' : frame.functionName})`
  const file = frame.url.startsWith('file://') ? relative(ROOT, fileURLToPath(frame.url)) : frame.url
  return file.replace(/^node_modules\//, '')
}

function label (frame: CallFrame): string {
  return `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${where(frame)}:${frame.lineNumber + 1}`
}

function add (map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value)
}

function summarise (profile: CpuProfile, key: (frame: CallFrame) => string): Totals {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  const totals: Totals = { self: new Map(), inclusive: new Map(), total: 0 }
  for (const [index, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[index] ?? 0
    const node = nodes.get(id) as ProfileNode
    totals.total += delta
    add(totals.self, key(node.callFrame), delta)
    // Inclusive: each key once per sample, however deep the recursion
    const seen = new Set<string>()
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const name = key((nodes.get(current) as ProfileNode).callFrame)
      if (!seen.has(name)) {
        seen.add(name)
        add(totals.inclusive, name, delta)
      }
    }
  }
  return totals
}

function table (title: string, values: Map<string, number>, total: number, filter: string, top: number): string {
  const rows = [...values].filter(([name]) => name.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top)
  return [`${title}`, ...rows.map(([name, micros]) => `${(100 * micros / total).toFixed(1).padStart(6)} %  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`)].join('\n')
}

const args = process.argv.slice(2)
const option = (name: string, fallback: string): string => {
  const index = args.indexOf(name)
  return index === -1 ? fallback : args.splice(index, 2)[1] ?? fallback
}
const filter = option('--filter', '')
const top = Number(option('--top', '25'))
for (const file of args) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byFunction = summarise(profile, label)
  const byFile = summarise(profile, where)
  process.stdout.write([
    `# ${file}: ${(byFunction.total / 1e6).toFixed(1)} s sampled${filter === '' ? '' : `, rows matching "${filter}"`}`,
    table('\n## Files, self time', byFile.self, byFile.total, filter, top),
    table('\n## Files, inclusive time', byFile.inclusive, byFile.total, filter, top),
    table('\n## Functions, self time', byFunction.self, byFunction.total, filter, top),
    table('\n## Functions, inclusive time', byFunction.inclusive, byFunction.total, filter, top),
    ''
  ].join('\n'))
}
