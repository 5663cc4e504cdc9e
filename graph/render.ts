/** The stack graph as Mermaid (GitHub and most docs sites render it) or Graphviz DOT. */
import type { NodeKind, StackGraph } from './model';

const MERMAID_SHAPES: Record<NodeKind, [string, string]> = {
  web: ['[', ']'],
  worker: ['[[', ']]'],
  scheduled: ['{{', '}}'],
  job: ['[/', '/]'],
  database: ['[(', ')]'],
  cache: ['[(', ')]'],
  stateful: ['[(', ')]'],
};

const DOT_SHAPES: Record<NodeKind, string> = {
  web: 'box',
  worker: 'box3d',
  scheduled: 'hexagon',
  job: 'parallelogram',
  database: 'cylinder',
  cache: 'cylinder',
  stateful: 'cylinder',
};

/** Mermaid ids must not contain "-" in every renderer; labels keep the real names. */
const mid = (name: string) => `n_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
const EDGE = 'edge';
const OUTSIDE = (cidr: string) => `out_${cidr.replace(/[^0-9A-Za-z]/g, '_')}`;

export function toMermaid(g: StackGraph): string {
  const lines = ['flowchart LR'];
  for (const n of g.nodes) {
    const [open, close] = MERMAID_SHAPES[n.kind];
    lines.push(`  ${mid(n.id)}${open}"${n.id}<br/><small>${n.kind}</small>"${close}`);
  }
  const hosts = [...new Set(g.routes.map((r) => r.host))];
  if (g.routes.length > 0) lines.push(`  ${EDGE}(("edge<br/>${hosts.join('<br/>')}"))`);
  for (const cidr of new Set(g.egress.map((e) => e.cidr))) lines.push(`  ${OUTSIDE(cidr)}>"outside ${cidr}"]`);
  for (const r of g.routes) lines.push(`  ${EDGE} -->|"${hosts.length > 1 ? r.host : ''}${r.path}"| ${mid(r.to)}`);
  for (const f of g.flows) lines.push(`  ${mid(f.from)} -->|${f.ports.join(',')}| ${mid(f.to)}`);
  for (const e of g.egress) lines.push(`  ${mid(e.from)} -->|${e.ports.join(',')}| ${OUTSIDE(e.cidr)}`);
  for (const w of g.waits) lines.push(`  ${mid(w.from)} -.->|waits for| ${mid(w.to)}`);
  return `${lines.join('\n')}\n`;
}

export function toDot(g: StackGraph): string {
  const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
  const lines = [`digraph ${q(g.name)} {`, '  rankdir=LR;', '  node [fontname="Helvetica"];'];
  for (const n of g.nodes) lines.push(`  ${q(n.id)} [shape=${DOT_SHAPES[n.kind]}, label=${q(`${n.id}\n${n.kind}`)}];`);
  const hosts = [...new Set(g.routes.map((r) => r.host))];
  if (g.routes.length > 0) lines.push(`  ${q(EDGE)} [shape=doublecircle, label=${q(`edge\n${hosts.join('\n')}`)}];`);
  for (const cidr of new Set(g.egress.map((e) => e.cidr))) lines.push(`  ${q(`outside ${cidr}`)} [shape=note];`);
  for (const r of g.routes) lines.push(`  ${q(EDGE)} -> ${q(r.to)} [label=${q(`${hosts.length > 1 ? r.host : ''}${r.path}`)}];`);
  for (const f of g.flows) lines.push(`  ${q(f.from)} -> ${q(f.to)} [label=${q(f.ports.join(','))}];`);
  for (const e of g.egress) lines.push(`  ${q(e.from)} -> ${q(`outside ${e.cidr}`)} [label=${q(e.ports.join(','))}];`);
  for (const w of g.waits) lines.push(`  ${q(w.from)} -> ${q(w.to)} [style=dashed, label="waits for"];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
