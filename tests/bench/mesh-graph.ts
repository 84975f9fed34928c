// The mesh bench's topologies: a line and a seeded random connected mesh (same graph every run),
// and hop distances from the node that posts. Nodes are 0-based here, N1 … Nn in the output.

/** [inviter, importer]: the importer takes the inviter's invite code. */
export type Edge = readonly [number, number];

/** N1 – N2 – … – Nn. */
export function lineEdges(count: number): Edge[] {
  return Array.from({ length: count - 1 }, (_, i) => [i, i + 1] as const);
}

/** mulberry32: a tiny seeded PRNG, so the "random" mesh is the same graph on every machine. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Each node after the first links to 2 or 3 distinct random earlier nodes (fewer while there are
 * fewer earlier ones), so the graph is connected and early nodes end up with the higher degrees.
 */
export function randomMeshEdges(count: number, seed: number): Edge[] {
  const random = seededRandom(seed);
  const edges: Edge[] = [];
  for (let node = 1; node < count; node++) {
    const wanted = Math.min(node, random() < 0.5 ? 2 : 3);
    const earlier = Array.from({ length: node }, (_, i) => i);
    for (let k = 0; k < wanted; k++) {
      const [pick] = earlier.splice(Math.floor(random() * earlier.length), 1);
      edges.push([pick!, node]);
    }
  }
  return edges;
}

/** Hops from `origin` to every node (breadth-first); a node it cannot reach is an error. */
export function hopsFrom(graph: ReadonlyMap<number, ReadonlySet<number>>, origin: number): number[] {
  const hops = new Array<number>(graph.size).fill(-1);
  hops[origin] = 0;
  const queue = [origin];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const next of graph.get(node) ?? []) {
      if (hops[next] !== -1) continue;
      hops[next] = hops[node]! + 1;
      queue.push(next);
    }
  }
  const unreachable = hops.findIndex((h) => h === -1);
  if (unreachable !== -1) throw new Error(`bench: N${unreachable + 1} is not connected to N${origin + 1}`);
  return hops;
}
