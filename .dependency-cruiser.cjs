// The layers of main/core, checked by `npm run lint` (README "Layout" describes them).
// A module may import its own folder and any LOWER layer: never a higher layer, and never a peer
// of its own rank (peers are independent of each other). Every folder of main/core must be named
// here, so a new folder is placed in the architecture before it can hold code. No import cycles
// anywhere in main/.

/** Lowest first. A rank is a list of peer folders of main/core (`base`: the files directly in main/core). */
const RANKS = [
  ['base'], //       errors, clock, home, host patterns, secret forms, assets: imported by every layer
  ['text', 'credentials', 'engine', 'images'],
  ['audit'], //      the event model and the trail (its end is kept in the keychain: credentials)
  ['gateway', 'forward'], // forward: the audit trail streamed to collectors (OTLP, syslog, webhook), over audit and credentials
  ['mcp'], //       MCP servers under policy: the broker of /mcp/<name>, tool rules, pins (below policy, whose manifest schema names its key)
  ['policy'],
  ['kits'], //      built-in agents for real tools (kit.yaml, --endpoint, their images): over policy, images, credentials
  ['desktop'],
  ['changes'], //   the agent's change to its project: collected from the workspace, diffed against the base, stored
  ['spend'], //     model usage read from intercepted provider responses, prices, budgets per task and chain, loops
  ['tasks'],
  ['service'],
  ['airlock'], //    main/core/airlock.ts: the composition root, wires the core once
  ['server'], //     the engine's contract, handlers, socket and clients, over one Airlock
];

/** A layer's modules, as a path pattern. */
function layerPath(layer) {
  if (layer === 'base') return '^main/core/(?!airlock\\.ts$)[^/]+\\.ts$';
  if (layer === 'airlock') return '^main/core/airlock\\.ts$';
  return `^main/core/${layer}/`;
}

const anyOf = (layers) => layers.map(layerPath).join('|');
const placed = anyOf(RANKS.flat());

const layerRules = RANKS.flatMap((rank, index) => {
  const lower = RANKS.slice(0, index).flat();
  return rank.map((layer) => ({
    name: `layer-${layer}`,
    severity: 'error',
    comment: `main/core/${layer === 'base' ? '*.ts' : layer} may import only ${lower.length > 0 ? `itself and the layers below it: ${lower.join(', ')}` : 'itself'} (see .dependency-cruiser.cjs and README "Layout").`,
    from: { path: layerPath(layer) },
    to: { path: '^main/core/', pathNot: anyOf([layer, ...lower]) },
  }));
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'layer-unplaced',
      severity: 'error',
      comment: 'Every folder of main/core belongs to a layer: add it to RANKS in .dependency-cruiser.cjs (and to README "Layout").',
      from: { path: '^main/core/', pathNot: placed },
      to: {},
    },
    {
      name: 'layer-unplaced-imported',
      severity: 'error',
      comment: 'Every folder of main/core belongs to a layer: add it to RANKS in .dependency-cruiser.cjs (and to README "Layout").',
      from: {},
      to: { path: '^main/core/', pathNot: placed },
    },
    {
      name: 'layer-unplaced-orphan',
      severity: 'error',
      comment: 'Every folder of main/core belongs to a layer: add it to RANKS in .dependency-cruiser.cjs (and to README "Layout").',
      from: { orphan: true, path: '^main/core/', pathNot: placed },
      to: {},
    },
    {
      name: 'core-is-inner',
      severity: 'error',
      comment: 'main/core runs under plain Node for the CLI, the engine and the app: it never imports the CLI, the IPC, the Electron main, preload or the renderer (only the typed contract they share: preload/contract.ts, wire-types.ts).',
      from: { path: '^main/core/' },
      to: { path: '^(main/(cli|ipc)/|main/[^/]+\\.ts$|preload/|renderer/)', pathNot: '^preload/(contract|wire-types)\\.ts$' },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles: a module that needs a type from a module that imports it takes the type from a lower module.',
      from: { path: '^main/' },
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: '^(main|preload|renderer)/',
    exclude: { path: '^(out|node_modules)/' },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports couple modules too: they count.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.node.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};
